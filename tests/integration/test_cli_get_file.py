"""`pachlite get file -r REPO@COMMIT:/path -o DIR`, as pachctl 2.x: a folder's files written under
DIR by their path below it, all of them or none, never outside DIR."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import Cli, damage_add_path, damage_inline_object, put
from pachlite.pfs.address import parse
from pachlite.pps import pipeline as pl

FILES = {"/in/a.csv": "x,y\n1,2\n", "/in/sub/b.json": '{"b": 1}\n', "/other.txt": "other\n"}


@pytest.fixture
def repo(cli: Cli) -> Cli:
    """Repo r with FILES in one commit on master."""
    with cli.lib() as pfs:
        pfs.create_repo("r")
        put(pfs, "r@master", FILES)
    return cli


def tree(root: Path) -> dict[str, str]:
    """{relative path: text} of every file under root, hidden ones included."""
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_folder_is_written_under_dir_by_its_path_below_the_folder(repo):
    repo("get", "file", "-r", "r@master:/in", "-o", "out")
    assert tree(repo.root / "out") == {"a.csv": FILES["/in/a.csv"], "sub/b.json": FILES["/in/sub/b.json"]}


def test_the_root_of_a_commit_is_every_file_by_its_path(repo):
    repo("get", "file", "-r", "r@master:/", "-o", "all")
    assert tree(repo.root / "all") == {p.lstrip("/"): text for p, text in FILES.items()}


def test_a_file_with_r_is_written_to_the_output_path(repo):
    repo("get", "file", "-r", "r@master:/in/a.csv", "-o", "a.csv")
    assert (repo.root / "a.csv").read_text() == FILES["/in/a.csv"]


def test_files_are_readable_as_any_file_the_user_makes(repo):
    repo("get", "file", "-r", "r@master:/in", "-o", "out")
    mask = os.umask(0)
    os.umask(mask)
    assert (repo.root / "out").stat().st_mode & 0o777 == 0o777 & ~mask
    assert (repo.root / "out/a.csv").stat().st_mode & 0o777 == 0o666 & ~mask


def test_an_existing_folder_keeps_its_other_files_and_gets_the_pulled_ones(repo):
    (repo.root / "out" / "sub").mkdir(parents=True)
    (repo.root / "out" / "mine.txt").write_text("mine")
    (repo.root / "out" / "a.csv").write_text("old")
    repo("get", "file", "-r", "r@master:/in", "-o", "out")
    assert tree(repo.root / "out") == {"a.csv": FILES["/in/a.csv"], "mine.txt": "mine",
                                       "sub/b.json": FILES["/in/sub/b.json"]}


def test_a_folder_without_r_is_one_line_naming_r(repo):
    err = repo("get", "file", "r@master:/in", ok=False).stderr
    assert err == ("pachlite: error: r@master:/in is a directory; get it with 'pachlite get file -r "
                   "r@master:/in -o DIR', or name a file in it ('pachlite list file r@master:/in')\n")
    assert "-r" in repo("get", "file", "r@master:/in", "-o", "out", ok=False).stderr
    assert not (repo.root / "out").exists()


def test_r_without_an_output_folder_is_one_line_naming_o(repo):
    err = repo("get", "file", "-r", "r@master:/in", ok=False).stderr
    assert "needs one; add -o DIR" in err


@pytest.mark.parametrize("existing", [False, True], ids=["new folder", "existing folder"])
def test_a_damaged_content_leaves_no_file_written(repo, existing):
    out = repo.root / "out"
    if existing:
        out.mkdir()
        (out / "mine.txt").write_text("mine")
    with repo.lib() as pfs:
        damage_inline_object(pfs.store, len(FILES["/in/sub/b.json"]), b'{"b": 2}\n')
    err = repo("get", "file", "-r", "r@master:/in", "-o", "out", ok=False).stderr
    assert "b.json" in err
    assert (tree(out) if existing else out.exists()) == ({"mine.txt": "mine"} if existing else False)
    assert [p.name for p in repo.root.iterdir() if p.name.startswith(".pachlite")] == []


def test_a_link_in_the_output_folder_cannot_carry_a_file_outside(repo):
    outside = repo.root / "outside"
    outside.mkdir()
    (repo.root / "out").mkdir()
    os.symlink(outside, repo.root / "out" / "sub")
    err = repo("get", "file", "-r", "r@master:/in", "-o", "out", ok=False).stderr
    assert "leads outside out" in err
    assert list(outside.iterdir()) == [] and not (repo.root / "out" / "a.csv").exists()


@pytest.mark.parametrize("local", ["sub", "a.csv"], ids=["file where a folder goes", "folder where a file goes"])
def test_a_local_file_of_the_other_kind_stops_the_pull_before_anything_moves(repo, local):
    out = repo.root / "out"
    out.mkdir()
    (out / local).mkdir() if local == "a.csv" else (out / local).write_text("mine")
    err = repo("get", "file", "-r", "r@master:/in", "-o", "out", ok=False).stderr
    assert f"out/{local} is a local" in err
    assert sorted(p.name for p in out.iterdir()) == [local]


def test_a_commit_of_the_past_is_pulled_as_it_was(repo):
    with repo.lib() as pfs:
        put(pfs, "r@master", {"/in/a.csv": "changed\n"})
    repo("get", "file", "-r", "r@master^:/in", "-o", "before")
    assert (repo.root / "before" / "a.csv").read_text() == FILES["/in/a.csv"]


def test_a_stored_path_with_dots_is_refused_before_anything_is_written(repo):
    with repo.lib() as pfs:
        damage_add_path(pfs.store, pfs.resolve(parse("r@master")).id, "/in/../../escape", "/in/a.csv")
    (repo.root / "kept").mkdir()
    for out in ("out", "kept"):  # a new folder, and one that exists
        err = repo("get", "file", "-r", "r@master:/in", "-o", out, ok=False).stderr
        assert "'/in/../../escape' would land outside the output folder" in err
        assert sorted(p.name for p in repo.root.iterdir()) == ["kept", "store"]
        assert not any((repo.root / "kept").iterdir())


def test_an_output_commit_made_in_its_inputs_commit_set_is_pulled(repo):
    # Its id (the set's) is the input commit's, not its own key in the store.
    with repo.lib() as pfs:
        pl.create_pipeline(pfs, {"pipeline": {"name": "copy"}, "input": {"pfs": {"repo": "r", "glob": "/"}},
                                 "transform": {"cmd": ["cp", "-r", "/pfs/r/in", "/pfs/out/copied"]}})
        pl.run(pfs, ["copy"])
        put(pfs, "r@master", {"/in/a.csv": "changed\n"})
        [r] = pl.run(pfs, ["copy"])
        out, into = pfs.resolve(parse("copy@master")), pfs.resolve(parse("r@master"))
        assert (r.job.state, out.id) == ("success", into.id) and out.key != into.key
    repo("get", "file", "copy@master:/copied/a.csv", "-o", "a.csv")
    repo("get", "file", "-r", "copy@master:/copied", "-o", "out")
    assert (repo.root / "a.csv").read_text() == (repo.root / "out" / "a.csv").read_text() == "changed\n"
