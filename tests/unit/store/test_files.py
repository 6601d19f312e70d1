"""Layered commits: a commit's files are its parent's layers plus its own changes, so a small
commit writes a few rows whatever the repo's size; every commit, old or new, still reads as its
full file list, through compactions, deletions of files and folders, squashed commits and a
migration from format 7's full copies."""

from __future__ import annotations

import random
import sqlite3

import pytest

from helpers import put
from pachlite.pfs import AUTO, PFS
from pachlite.pfs.address import parse
from pachlite.pps.commitset import squash_commit_set
from pachlite.store import FORMAT_VERSION, Store, files as store_files, fsck, hash_bytes


def listing(pfs: PFS, commit: str) -> dict[str, str]:
    return {p: h for p, h, _ in pfs.files(pfs.resolve(parse(f"r@{commit}")).key)}


def rows(pfs: PFS) -> int:
    return pfs.store.one("SELECT COUNT(*) FROM files")[0]


def test_every_commit_reads_as_its_whole_file_list_through_puts_deletes_and_compactions(pfs):
    pfs.create_repo("r")
    rng = random.Random(4)
    model: dict[str, str] = {}
    snapshots = []
    for i in range(60):
        if model and rng.random() < 0.3:
            victim = rng.choice(sorted(model))
            folder = victim.rsplit("/", 1)[0] if rng.random() < 0.5 and victim.count("/") > 1 else victim
            pfs.delete_file(parse(f"r@master:{folder}"))
            model = {p: h for p, h in model.items() if p != folder and not p.startswith(folder + "/")}
        else:
            new = {f"/d{rng.randrange(4)}/f{rng.randrange(40)}": f"{i}-{j}" for j in range(rng.randrange(1, 6))}
            put(pfs, "r", new)
            model.update({p: hash_bytes(v.encode()) for p, v in new.items()})
        c = pfs.resolve(parse("r@master"))
        assert listing(pfs, c.id) == model
        assert c.size == sum(size for _, _, size in pfs.files(c.key))
        snapshots.append((c.id, dict(model)))
    for cid, expected in snapshots:  # old commits are unchanged by what came after them
        assert listing(pfs, cid) == expected
        for p, h in expected.items():
            assert store_files.hash_of(pfs.store, pfs.resolve(parse(f"r@{cid}")).key, p) == h
    # Compaction keeps the stack short: the top two merge while the upper is half the lower.
    head = pfs.resolve(parse("r@master")).key
    assert len(store_files.layers(pfs.store, head)) <= 8
    assert fsck(pfs.store) == []


def test_a_one_file_commit_writes_one_row_whatever_the_repo_holds(pfs):
    pfs.create_repo("r")
    put(pfs, "r", {f"/f{i:04d}": str(i) for i in range(2000)})
    before = rows(pfs)
    put(pfs, "r", {"/new": "x"})
    assert rows(pfs) - before == 1  # not a copy of the 2,000 rows of the parent
    pfs.delete_file(parse("r@master:/f0007"))
    # A tombstone, merged with the layer under it (the parent commit keeps that one).
    assert rows(pfs) - before == 3
    assert "/f0007" not in listing(pfs, "master") and len(listing(pfs, "master")) == 2000
    assert "/f0007" in listing(pfs, "master^")


def test_a_file_put_under_a_file_is_refused_in_a_small_commit_too(pfs):
    pfs.create_repo("r")
    put(pfs, "r", {f"/f{i:04d}": str(i) for i in range(100)})
    for bad in ({"/f0001/x": "1"}, {"/a": "1", "/a/b": "2"}):
        try:
            put(pfs, "r", bad)
        except Exception as e:  # noqa: BLE001 (the message is what is checked)
            assert "is a file but" in str(e)
        else:
            raise AssertionError(f"{bad} was stored")
    assert len(listing(pfs, "master")) == 100


def test_squashing_a_commit_keeps_its_child_whole_and_drops_layers_nothing_lists(pfs):
    pfs.create_repo("r")
    put(pfs, "r", {"/a": "1", "/b": "2"})
    middle = put(pfs, "r", {"/c": "3"})
    put(pfs, "r", {"/d": "4"})
    expected = listing(pfs, "master")
    squash_commit_set(pfs, middle.id)
    assert listing(pfs, "master") == expected
    assert fsck(pfs.store) == []


def test_a_format_7_store_gets_layers_and_every_commit_reads_the_same(tmp_path):
    from test_store import make_format_7

    root = tmp_path / "store"
    pfs = PFS(Store(root))
    pfs.create_repo("r")
    ids = [put(pfs, "r", {f"/f{i}": str(i), "/same": str(i)}).id for i in range(5)]
    pfs.delete_file(parse("r@master:/f0"))
    ids.append(pfs.resolve(parse("r@master")).id)
    before = {cid: listing(pfs, cid) for cid in ids}
    pfs.store.close()
    db = sqlite3.connect(root / "pachlite.db", isolation_level=None)
    db.execute("BEGIN")
    make_format_7(db)
    db.execute("COMMIT")
    db.close()
    store = Store(root)
    try:
        pfs = PFS(store)
        assert store.one("SELECT value FROM meta WHERE key='format_version'")[0] == str(FORMAT_VERSION)
        assert {cid: listing(pfs, cid) for cid in ids} == before
        assert fsck(store) == []
        put(pfs, "r", {"/g": "new"})  # and a new commit layers on a migrated one
        assert listing(pfs, "master") == {**before[ids[-1]], "/g": hash_bytes(b"new")}
        assert fsck(store) == []
    finally:
        store.close()


def test_a_commit_started_from_an_open_one_keeps_what_that_held(pfs):
    pfs.create_repo("r")
    put(pfs, "r", {"/a": "1"})
    pfs.start_commit("r", "master")
    put(pfs, "r", {"/b": "2"})  # into the open commit
    open_id = pfs.resolve(parse("r@master")).id
    child = pfs.write_commit("r", "master", {}, origin=AUTO)  # its child, while it is open
    pfs.finish_commit(parse(f"r@{open_id}"))  # (its layers compacted when finished)
    assert listing(pfs, child) == listing(pfs, open_id) == {"/a": hash_bytes(b"1"), "/b": hash_bytes(b"2")}
    assert fsck(pfs.store) == []


def test_a_commit_read_as_a_stream_under_any_path_is_its_listing(pfs):
    """iter_files (what list, inspect and diff file read) against list_files and a model, on
    commits of several layers with deletions in them; and diff_file against the model's diff."""
    pfs.create_repo("r")
    rng = random.Random(7)
    base = {f"/d{i % 3}/f{i:03d}": f"base{i}" for i in range(90)}  # a large bottom layer
    put(pfs, "r", base)
    model = {p: hash_bytes(v.encode()) for p, v in base.items()}
    for i in range(25):
        parent = dict(model)
        if rng.random() < 0.3:
            victim = rng.choice(sorted(model))
            pfs.delete_file(parse(f"r@master:{victim}"))
            del model[victim]
        else:  # names that sort between a folder's paths and beside them ("/d1.txt", "/d1-x/g")
            path = rng.choice([f"/d{rng.randrange(4)}/f{rng.randrange(120):03d}",
                               f"/d{rng.randrange(3)}.txt", f"/d{rng.randrange(3)}-x/g"])
            put(pfs, "r", {path: str(i)})
            model[path] = hash_bytes(str(i).encode())
        c = pfs.resolve(parse("r@master"))
        one = rng.choice(sorted(model))
        for prefix in ("/", "/d1", "/d1/", one, one + "/", "/d1-x", "/nope"):
            want = sorted((p, h) for p, h in model.items()
                          if p == prefix or p.startswith(prefix.rstrip("/") + "/"))
            streamed = list(store_files.iter_files(pfs.store, c.key, prefix))
            assert streamed == store_files.list_files(pfs.store, c.key, prefix)
            assert [(p, h) for p, h, _ in streamed] == want
        changes = [(x.status, x.path) for x in pfs.diff_file(parse(f"r@{c.id}"))]
        assert changes == sorted(
            [("added", p) for p in model.keys() - parent.keys()]
            + [("deleted", p) for p in parent.keys() - model.keys()]
            + [("modified", p) for p in model.keys() & parent.keys() if model[p] != parent[p]],
            key=lambda t: t[1])
    assert len(store_files.layers(pfs.store, c.key)) > 1  # the merge of layers was read


def test_a_listing_begun_as_its_commit_was_compacted_reads_the_layers_it_has_now(pfs, monkeypatch):
    """The race iter_files guards against: its commit's layers are merged (and the top one
    dropped) between its read of the stack and its reads of the layers. It reads the stack again
    once its reads have begun (their snapshot), and starts over from the new one."""
    pfs.create_repo("r")
    put(pfs, "r", {f"/f{i:02d}": str(i) for i in range(20)})
    c = put(pfs, "r", {"/new": "x"})
    stale = store_files.layers(pfs.store, c.key)
    assert len(stale) == 2  # the parent's, and its own (only it lists that one)
    monkeypatch.setattr(store_files, "MAX_LAYERS", 1)
    with pfs.store.transaction() as tx:  # as a compaction would, while the listing starts
        store_files.seal(tx, c.key)
    assert len(store_files.layers(pfs.store, c.key)) == 1
    real, calls = store_files.layers, []

    def first_stale(s, commit_id):
        calls.append(commit_id)
        return stale if len(calls) == 1 else real(s, commit_id)
    monkeypatch.setattr(store_files, "layers", first_stale)
    paths = [p for p, _, _ in store_files.iter_files(pfs.store, c.key)]
    assert paths == [f"/f{i:02d}" for i in range(20)] + ["/new"]
    assert len(calls) == 3  # the stale stack, the one read beside the layers, and again


def test_fsck_names_a_commit_whose_layer_is_gone_and_a_layer_no_commit_lists(pfs):
    pfs.create_repo("r")
    put(pfs, "r", {f"/f{i}": str(i) for i in range(10)})
    c = put(pfs, "r", {"/new": "x"})
    [(bottom, _), (top, _)] = store_files.layers(pfs.store, c.key)
    with pfs.store.transaction() as tx:
        tx.execute("DELETE FROM layers WHERE id=?", (top,))
        tx.execute("UPDATE commit_layers SET layer=-1 WHERE layer=?", (bottom,))
    problems = fsck(pfs.store)
    assert f"commit layer {c.key} at depth 0 is missing" in problems
    assert f"files belong to missing layer {top}" in problems
    assert f"layer {bottom} belongs to no commit" in problems


@pytest.mark.parametrize("paths, found", [
    (["/a", "/a.b", "/a/c"], ("/a", "/a/c")),       # '.' sorts between "/a" and "/a/"
    (["/a", "/a-b/c", "/ab", "/b/c/d"], None),
    (["/d/e", "/d/e0", "/d/e0/f"], ("/d/e0", "/d/e0/f")),  # "/d/e" is a prefix, not a folder
    (["/x/y", "/x/y/z/w"], ("/x/y", "/x/y/z/w")),
])
def test_nested_finds_a_file_with_paths_under_it_holding_only_a_chain_of_prefixes(paths, found):
    assert store_files.nested(paths) == found
