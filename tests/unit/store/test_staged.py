"""Staged layers: a large write's rows, written in chunks before the one transaction that gives
them to a commit; invisible until then, and what a killed writer left is ignored by fsck and
dropped by gc or the next staging."""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import put
from pachlite.errors import Conflict
from pachlite.pfs import PFS
from pachlite.pfs.address import parse
from pachlite.store import fsck, gc, hash_bytes, staged
from pachlite.store.db import ROWS_PER_STATEMENT


def listing(pfs: PFS, commit: str) -> dict[str, str]:
    return {p: h for p, h, _ in pfs.files(pfs.resolve(parse(f"r@{commit}")).key)}


def rows(pfs: PFS) -> int:
    return pfs.store.one("SELECT COUNT(*) FROM files")[0]


def staged_layers(pfs: PFS) -> list[int]:
    return [r[0] for r in pfs.store.query("SELECT layer FROM staged")]


def stage(pfs: PFS, contents: dict[str, str], layer: int | None = None) -> int:
    """Stage contents (path → text) in a transaction of their own: into `layer`, or a new one."""
    with pfs.store.transaction() as tx:
        layer = layer or staged.stage(tx)
        tx.put_objects([(hash_bytes(v.encode()), len(v), v.encode()) for v in contents.values()])
        staged.stage_rows(tx, layer, [(p, hash_bytes(v.encode()), len(v)) for p, v in contents.items()])
    return layer


def test_a_staged_layer_shows_nowhere_until_a_commit_takes_it_whole(pfs):
    pfs.create_repo("r")
    put(pfs, "r", {"/kept": "k", "/a": "old"})
    before = listing(pfs, "master")
    layer = None
    for chunk in ({"/a": "new", "/b": "b"}, {"/c/d": "d"}):  # each chunk a transaction of its own
        layer = stage(pfs, chunk, layer)
        assert listing(pfs, "master") == before and fsck(pfs.store) == []
    pfs.write_commit("r", "master", {}, staged_layer=layer)
    after = pfs.resolve(parse("r@master"))
    assert listing(pfs, "master") == {**before, "/a": hash_bytes(b"new"), "/b": hash_bytes(b"b"),
                                      "/c/d": hash_bytes(b"d")}
    assert after.size == len("k") + len("new") + len("b") + len("d")  # /a's old size replaced
    assert [c.path for c in pfs.diff_file(parse("r@master"))] == ["/a", "/b", "/c/d"]
    assert staged_layers(pfs) == [] and fsck(pfs.store) == []


def test_a_staged_put_under_a_file_is_refused_and_changes_nothing(pfs):
    pfs.create_repo("r")
    put(pfs, "r", {"/x": "file"})
    head = pfs.resolve(parse("r@master")).key
    layer = stage(pfs, {"/x/y": "y"})
    with pytest.raises(Conflict, match="/x is a file but /x/y would make it a directory"):
        pfs.write_commit("r", "master", {}, staged_layer=layer)
    assert pfs.resolve(parse("r@master")).key == head and staged_layers(pfs) == [layer]


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_what_a_killed_writer_staged_is_ignored_by_fsck_and_dropped_by_gc_and_the_next_staging(pfs):
    pfs.create_repo("r")
    for then in ("gc", "stage"):
        layer = stage(pfs, {"/lost": "lost"})
        with pfs.store.transaction() as tx:
            tx.execute("UPDATE staged SET pid=? WHERE layer=?", (dead_pid(), layer))
        assert fsck(pfs.store) == []
        if then == "gc":
            assert gc(pfs.store, min_age=0).objects == 1  # its object was referenced by it only
        else:
            with pfs.store.transaction() as tx:
                mine = staged.stage(tx)
            assert staged_layers(pfs) == [mine]
            with pfs.store.transaction() as tx:
                staged.drop_staged(tx, mine)
        assert staged_layers(pfs) == [] and rows(pfs) == 0 and fsck(pfs.store) == []


def test_a_commit_refuses_a_staged_layer_another_process_dropped(pfs):
    pfs.create_repo("r")
    put(pfs, "r", {"/a": "1"})
    head = pfs.resolve(parse("r@master")).key
    layer = stage(pfs, {"/b": "1"})
    with pfs.store.transaction() as tx:  # as another process would, taking this one for dead
        staged.drop_staged(tx, layer)
    with pytest.raises(Conflict, match="were dropped by another pachlite process"):
        pfs.write_commit("r", "master", {}, staged_layer=layer)
    assert pfs.resolve(parse("r@master")).key == head and fsck(pfs.store) == []


@pytest.mark.parametrize("first_wins", [True, False], ids=["first-wins", "last-wins"])
def test_a_path_staged_twice_in_one_large_write_keeps_the_first_or_the_last(pfs, first_wins):
    # More rows than one INSERT statement takes: the two puts of /dup fall in different ones.
    n = 2 * ROWS_PER_STATEMENT + 3
    puts = [(f"/f{i:04d}", hash_bytes(str(i).encode()), len(str(i))) for i in range(n)]
    puts.insert(n - 1, ("/f0005", hash_bytes(b"again"), 5))
    with pfs.store.transaction() as tx:
        layer = staged.stage(tx)
        tx.put_objects([(h, size, str(i).encode()) for i, (_, h, size) in enumerate(puts[:n - 1])]
                       + [(hash_bytes(b"again"), 5, b"again"), (puts[n][1], puts[n][2], str(n - 1).encode())])
        written = staged.stage_rows(tx, layer, puts, first_wins=first_wins)
    assert written == (n if first_wins else n + 1)  # a replaced row counts as written
    pfs.create_repo("r")
    pfs.write_commit("r", "master", {}, staged_layer=layer)
    got = listing(pfs, "master")
    assert len(got) == n
    assert got["/f0005"] == (hash_bytes(b"5") if first_wins else hash_bytes(b"again"))
    assert fsck(pfs.store) == []
