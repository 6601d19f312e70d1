"""PFS at the library level: repos, branches, commits, files, atomicity, fsck.

Behaviour mirrored from Pachyderm 2.x (reference/SEMANTICS.md "PFS"; pachctl's put file naming
from src/server/pfs/cmds/cmds.go; create branch keeping an existing head from the driver's
createBranch).
"""

import io
import os

import pytest

from helpers import damage_add_dangling_branch, damage_inline_object, get, put, stored_objects
from pachlite.errors import Conflict, InvalidInput, NotFound
from pachlite.pfs import AUTO, USER, Source, collect_sources
from pachlite.pfs.address import Address, parse
from pachlite.store import INLINE_MAX, fsck


def snapshot(pfs):
    """Everything a failed write must leave untouched: repos, branches, commits, their files,
    and the contents stored."""
    return ([(r, pfs.list_branch(r.name),
              [(c, pfs.files(c.id)) for c in pfs.list_commit(r.name)]) for r in pfs.list_repo()],
            stored_objects(pfs.store))


# ---- repos ---------------------------------------------------------------------------------

def test_repo_lifecycle(pfs):
    pfs.create_repo("images", "raw pictures")
    put(pfs, "images@master", {"/a.png": b"12345"})
    r = pfs.inspect_repo("images")
    assert (r.name, r.description, r.size, r.branches) == ("images", "raw pictures", 5, ("master",))
    assert [x.name for x in pfs.list_repo()] == ["images"]
    pfs.delete_repo("images")
    assert pfs.list_repo() == []
    with pytest.raises(NotFound, match="repo images not found"):
        pfs.inspect_repo("images")
    assert fsck(pfs.store) == []


def test_repo_names_and_duplicates_are_refused(pfs):
    pfs.create_repo("a")
    with pytest.raises(Conflict, match="repo a already exists"):
        pfs.create_repo("a")
    with pytest.raises(InvalidInput, match="invalid repo name"):
        pfs.create_repo("a b")


# ---- commits -------------------------------------------------------------------------------

def test_each_put_is_a_commit_on_top_of_the_last(pfs):
    pfs.create_repo("r")
    c1 = put(pfs, "r@master", {"/a": b"one", "/d/b": b"two"}, description="first")
    c2 = put(pfs, "r@master", {"/a": b"ONE!"})
    assert (c1.parent, c2.parent) == (None, c1.id)
    assert (c1.origin, c1.description, c1.branch) == (USER, "first", "master")
    assert (c1.size, c2.size) == (6, 7)
    assert c2.finished is not None and c2.started <= c2.finished
    # Overwrite by default (Pachyderm 2.x); the old commit still holds the old content.
    assert get(pfs, "r@master:/a") == b"ONE!"
    assert get(pfs, f"r@{c1.id}:/a") == b"one"
    assert get(pfs, "r@master^:/a") == b"one"
    assert [c.id for c in pfs.list_commit("r")] == [c2.id, c1.id]
    assert [c.id for c in pfs.list_commit("r", "master", number=1)] == [c2.id]
    assert [c.id for c in pfs.list_commit("r", commit=c1.id)] == [c1.id]


def test_append_adds_to_the_existing_content(pfs):
    pfs.create_repo("r")
    put(pfs, "r@master", {"/log": b"a\n"})
    put(pfs, "r@master", {"/log": b"b\n", "/new": b"n"}, append=True)
    assert get(pfs, "r@master:/log") == b"a\nb\n"
    assert get(pfs, "r@master:/new") == b"n"


def test_the_same_path_twice_in_one_put(pfs):
    pfs.create_repo("r")
    twice = [Source("/f", stream=io.BytesIO(b"1")), Source("/f", stream=io.BytesIO(b"2"))]
    pfs.put_files(parse("r@master"), twice)
    assert get(pfs, "r@master:/f") == b"2"
    twice = [Source("/f", stream=io.BytesIO(b"3")), Source("/f", stream=io.BytesIO(b"4"))]
    pfs.put_files(parse("r@master"), twice, append=True)
    assert get(pfs, "r@master:/f") == b"234"


def test_ancestry_resolves_parents_and_stops_at_the_first_commit(pfs):
    pfs.create_repo("r")
    ids = [put(pfs, "r@master", {"/f": str(i).encode()}).id for i in range(3)]
    assert pfs.resolve(parse("r@master~2")).id == ids[0]
    assert pfs.resolve(parse(f"r@{ids[2]}^")).id == ids[1]
    with pytest.raises(NotFound, match="goes back 3 commits"):
        pfs.resolve(parse("r@master~3"))


def test_start_put_finish(pfs):
    pfs.create_repo("r")
    put(pfs, "r@master", {"/old": b"x"})
    open_ = pfs.start_commit("r", "master", "batch")
    assert open_.finished is None
    with pytest.raises(Conflict, match="already has an open commit"):
        pfs.start_commit("r", "master")
    put(pfs, "r@master", {"/a": b"1"})
    put(pfs, "r@master", {"/b": b"22"})
    done = pfs.finish_commit(parse("r@master"))
    assert done.id == open_.id and done.finished is not None
    assert done.size == 4  # /old, /a, /b
    assert len(pfs.list_commit("r")) == 2
    with pytest.raises(Conflict, match="already finished"):
        pfs.finish_commit(parse("r@master"))


def test_pipeline_commit_records_origin_and_provenance(pfs):
    pfs.create_repo("in")
    src = put(pfs, "in@master", {"/x": b"1"})
    pfs.create_repo("out", kind="pipeline")
    obj = pfs.store.read_content(io.BytesIO(b"result"))
    cid = pfs.write_commit("out", "master", {"/y": obj[:2]}, [obj], origin=AUTO,
                           provenance=[("in", "master", src.id)])
    c = pfs.resolve(Address("out", commit=cid))
    assert (c.origin, c.provenance) == (AUTO, (("in", "master", src.id),))


# ---- branches ------------------------------------------------------------------------------

def test_create_branch_with_head_rolls_back_and_without_keeps_it(pfs):
    pfs.create_repo("r")
    c1 = put(pfs, "r@master", {"/f": b"1"})
    c2 = put(pfs, "r@master", {"/f": b"2"})
    assert pfs.create_branch("r", "master").head == c2.id  # an existing branch keeps its head
    assert pfs.create_branch("r", "master", parse("r@master^")).head == c1.id
    assert get(pfs, "r@master:/f") == b"1"
    assert pfs.create_branch("r", "dev", parse(f"r@{c2.id}")).head == c2.id
    assert [(b.name, b.head) for b in pfs.list_branch("r")] == [("dev", c2.id), ("master", c1.id)]
    with pytest.raises(InvalidInput, match="is in repo other"):
        pfs.create_branch("r", "x", parse("other@master"))


# ---- files ---------------------------------------------------------------------------------

def test_list_glob_inspect_and_diff(pfs):
    pfs.create_repo("r")
    put(pfs, "r@master", {"/a.csv": b"1", "/d/b.csv": b"22", "/d/e/c.txt": b"333"})
    put(pfs, "r@master", {"/a.csv": b"one", "/z": b""})
    listing = [(f.path, f.type, f.size) for f in pfs.list_file(parse("r@master:/"))]
    assert listing == [("/a.csv", "file", 3), ("/d/", "dir", 5), ("/z", "file", 0)]
    assert [f.path for f in pfs.list_file(parse("r@master:/d"))] == ["/d/b.csv", "/d/e/"]
    assert [f.path for f in pfs.glob_file(parse("r@master"), "/**.csv")] == ["/a.csv", "/d/b.csv"]
    assert pfs.inspect_file(parse("r@master:/d")).type == "dir"
    changes = [(c.status, c.path) for c in pfs.diff_file(parse("r@master"))]
    assert changes == [("modified", "/a.csv"), ("added", "/z")]
    old = [(c.status, c.path) for c in pfs.diff_file(parse("r@master~1"), parse("r@master"))]
    assert old == [("modified", "/a.csv"), ("deleted", "/z")]


def test_list_file_groups_each_folders_paths_whatever_sorts_between_them(pfs):
    """list_file makes each entry as the paths are read in byte order, where "/a-b/y" and
    "/a.txt" sort before "/a/x": a folder's entry is whole once the next one begins."""
    pfs.create_repo("r")
    put(pfs, "r@master", {"/a-b/y": b"1", "/a.txt": b"22", "/a/x": b"333", "/a/z/w": b"4444", "/b": b""})
    put(pfs, "r@master", {"/a/v": b"55555"})  # another layer
    pfs.delete_file(parse("r@master:/a/x"))
    entries = [(f.path, f.type, f.size) for f in pfs.list_file(parse("r@master:/"))]
    assert entries == [("/a-b/", "dir", 1), ("/a.txt", "file", 2), ("/a/", "dir", 9), ("/b", "file", 0)]
    assert [(f.path, f.size) for f in pfs.list_file(parse("r@master:/a/"))] == [("/a/v", 5), ("/a/z/", 4)]
    assert [(f.path, f.type) for f in pfs.list_file(parse("r@master:/a.txt"))] == [("/a.txt", "file")]
    assert (pfs.inspect_file(parse("r@master:/a")).size, pfs.inspect_file(parse("r@master:/")).size) == (9, 12)
    assert {f.path: f.hash for f in pfs.list_file(parse("r@master"))}["/a/"] is None  # a folder's
    with pytest.raises(NotFound, match="no such file or directory"):
        pfs.list_file(parse("r@master:/a/x"))  # at once, before any entry is asked for


def test_delete_file_and_directory(pfs):
    pfs.create_repo("r")
    put(pfs, "r@master", {"/keep": b"k", "/d/a": b"a", "/d/b/c": b"c", "/d-x": b"x"})
    pfs.delete_file(parse("r@master:/d"))
    assert [f.path for f in pfs.list_file(parse("r@master"))] == ["/d-x", "/keep"]
    pfs.delete_file(parse("r@master:/keep"))
    assert [f.path for f in pfs.list_file(parse("r@master"))] == ["/d-x"]
    assert [f.path for f in pfs.list_file(parse("r@master~2"))] == ["/d-x", "/d/", "/keep"]


def test_identical_contents_are_stored_once(pfs):
    pfs.create_repo("r")
    put(pfs, "r@master", {"/a": b"same", "/b": b"same"})
    put(pfs, "r@master", {"/c": b"same"})
    assert len(stored_objects(pfs.store)) == 1


def test_large_content_is_an_object_file(pfs):
    pfs.create_repo("r")
    big = os.urandom(INLINE_MAX + 10)
    put(pfs, "r@master", {"/big": big})
    assert get(pfs, "r@master:/big") == big
    assert len(list(pfs.store.objects_dir.rglob("*"))) == 2  # objects/ab/ and the file
    assert fsck(pfs.store) == []


# ---- bad input: refused, and nothing changes ------------------------------------------------

@pytest.mark.parametrize("call, error, message", [
    (lambda p: p.list_file(parse("nope@master")), NotFound, "repo nope not found"),
    (lambda p: p.list_file(parse("r@dev")), NotFound, "branch dev not found in repo r"),
    (lambda p: p.list_file(parse("r@" + "a" * 32)), NotFound, "commit " + "a" * 32 + " not found"),
    (lambda p: p.list_file(parse("r@master:/missing")), NotFound, "no such file or directory"),
    (lambda p: p.get_file(parse("r@master:/d")), InvalidInput, "is a directory"),
    (lambda p: p.delete_file(parse("r@master:/missing")), NotFound, "no such file or directory"),
    (lambda p: put(p, "nope@master", {"/a": b"1"}), NotFound, "repo nope not found"),
    (lambda p: put(p, "r@master^", {"/a": b"1"}), InvalidInput, "finished commits are immutable"),
    (lambda p: put(p, "r@master", {"/d/f/x": b"1"}), Conflict, "/d/f is a file"),
    (lambda p: put(p, "r@master", {"/d": b"1"}), Conflict, "/d is a file but /d/f"),
    (lambda p: p.delete_file(parse(f"r@{p.resolve(parse('r@master')).id}:/d")), InvalidInput,
     "finished commits are immutable"),
    (lambda p: p.put_files(parse("r@master"), [Source("/a", stream=io.BytesIO(b"1")),
                                                Source("/b", local=p.store.root / "gone")]),
     InvalidInput, "cannot read local file"),
])
def test_bad_input_is_refused_and_changes_nothing(pfs, call, error, message):
    pfs.create_repo("r")
    put(pfs, "r@master", {"/d/f": b"x"})
    before = snapshot(pfs)
    with pytest.raises(error, match=message) as e:
        call(pfs)
    assert "; " in str(e.value)  # names the fix
    assert snapshot(pfs) == before


def test_an_empty_repo_has_no_files_to_list(pfs):
    pfs.create_repo("r")
    with pytest.raises(NotFound, match="r@master has no commits yet; put a file first"):
        pfs.list_file(parse("r@master"))
    assert pfs.list_commit("r", "master") == []


# ---- put file naming (pachctl 2.x) ------------------------------------------------------------

@pytest.fixture
def local(tmp_path):
    d = tmp_path / "local"
    (d / "data" / "sub").mkdir(parents=True)
    (d / "data" / "a.json").write_text("{}")
    (d / "data" / "sub" / "b.json").write_text("[]")
    (d / "one.csv").write_text("x\n")
    return d


def dests(dest, files, local, recursive=True):
    return [s.dest for s in collect_sources(dest, [str(local / f) for f in files], recursive, "t")]


def test_put_file_naming_follows_pachctl(local):
    assert dests(None, ["one.csv"], local) == ["/one.csv"]
    assert dests("/x.csv", ["one.csv"], local) == ["/x.csv"]
    assert dests("/", ["one.csv"], local) == ["/one.csv"]
    assert dests(None, ["data"], local) == ["/data/a.json", "/data/sub/b.json"]
    assert dests("/in", ["data"], local) == ["/in/a.json", "/in/sub/b.json"]
    assert dests("/", ["data"], local) == ["/a.json", "/sub/b.json"]
    assert dests("/in", ["one.csv", "data"], local) == [
        "/in/one.csv", "/in/data/a.json", "/in/data/sub/b.json"]


def test_put_file_local_problems(local, tmp_path):
    with pytest.raises(InvalidInput, match="is a directory; add -r"):
        dests(None, ["data"], local, recursive=False)
    with pytest.raises(InvalidInput, match="does not exist; check the path given to -f"):
        dests(None, ["missing.csv"], local)
    with pytest.raises(InvalidInput, match="needs a file path"):
        collect_sources(None, ["-"], False, "t")
    os.symlink(tmp_path, local / "data" / "out")
    with pytest.raises(InvalidInput, match="points outside"):
        dests(None, ["data"], local)
    os.unlink(local / "data" / "out")
    os.symlink("..", local / "data" / "sub" / "loop")
    with pytest.raises(InvalidInput, match="loops back"):
        dests(None, ["data"], local)
    os.unlink(local / "data" / "sub" / "loop")
    os.symlink("nothing", local / "data" / "broken")
    with pytest.raises(InvalidInput, match="is broken"):
        dests(None, ["data"], local)
    os.unlink(local / "data" / "broken")
    os.symlink("sub/b.json", local / "data" / "link.json")  # inside: followed
    assert dests("/", ["data"], local) == ["/a.json", "/link.json", "/sub/b.json"]


# ---- fsck ----------------------------------------------------------------------------------

def test_fsck_finds_damage(pfs):
    pfs.create_repo("r")
    put(pfs, "r@master", {"/small": b"s", "/big": b"B" * (INLINE_MAX + 1)})
    assert fsck(pfs.store) == []
    big = next(p for p in pfs.store.objects_dir.rglob("*") if p.is_file())
    os.chmod(big, 0o644)
    big.write_bytes(b"tampered")
    damage_inline_object(pfs.store, size=1, data=b"t")
    damage_add_dangling_branch(pfs.store, "r", "ghost")
    problems = fsck(pfs.store)
    assert len(problems) == 3
    assert sum("does not match its hash" in p for p in problems) == 2
    assert any("branch r@ghost points at a missing commit" in p for p in problems)


def test_deleting_an_input_repo_leaves_no_dangling_provenance(pfs):
    pfs.create_repo("in")
    src = put(pfs, "in@master", {"/x": b"1"})
    pfs.create_repo("out", kind="pipeline")
    pfs.write_commit("out", "master", {}, origin=AUTO, provenance=[("in", "master", src.id)])
    pfs.delete_repo("in")
    assert fsck(pfs.store) == []


def test_a_put_of_many_files_is_written_in_chunks_yet_lands_as_one_commit(pfs, tmp_path, monkeypatch):
    from pachlite.pfs import api
    monkeypatch.setattr(api, "STAGE_ROWS", 3)  # 10 files: 4 chunks, each a transaction
    pfs.create_repo("r")
    first = put(pfs, "r", {"/old": "o"})
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    for i in range(10):
        (folder / ("sub" if i % 2 else "") / f"f{i}").write_text(str(i))
    c = pfs.put_files(parse("r@master:/in"), collect_sources("/in", [str(folder)], True, "r"))
    assert c.parent_key == first.key and [x.key for x in pfs.list_commit("r")][1:] == [first.key]
    assert {p: get(pfs, f"r@master:{p}") for p, _, _ in pfs.files(c.key)} == {"/old": b"o", **{
        f"/in{'/sub' if i % 2 else ''}/f{i}": str(i).encode() for i in range(10)}}
    assert pfs.store.query("SELECT * FROM staged") == [] and fsck(pfs.store) == []


def test_a_put_failing_between_its_chunks_leaves_no_commit_and_nothing_staged(pfs, tmp_path, monkeypatch):
    from pachlite.pfs import api
    monkeypatch.setattr(api, "STAGE_ROWS", 2)
    pfs.create_repo("r")
    put(pfs, "r", {"/old": "o"})
    before = snapshot(pfs)
    for i in range(5):
        (tmp_path / f"f{i}").write_text(str(i))
    sources = [Source(f"/f{i}", local=tmp_path / f"f{i}") for i in range(5)]
    (tmp_path / "f3").unlink()  # gone once the first chunk is written: the second fails
    with pytest.raises(InvalidInput, match="cannot read local file"):
        pfs.put_files(parse("r@master"), sources)
    # (The first chunk's contents stay stored, referenced by nothing, as a large file's object
    # written before a failed put does: `pachlite gc` removes them.)
    assert snapshot(pfs)[0] == before[0]
    assert pfs.store.query("SELECT * FROM staged") == [] and fsck(pfs.store) == []
