"""Which store the `pachlite` command uses, found as git finds its repository: $PACHLITE_STORE,
else the first .pachlite in the current folder or a folder above it. Read commands never make
one; `create repo` (and `put file --sync`) outside any store make ./.pachlite."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from helpers import BIN, PACHLITE, store_above
from pachlite import snake

READS = [["list", "repo"], ["list", "file", "a@master"], ["get", "file", "a@master:/x"],
         ["inspect", "commit", "a@master"], ["list", "commit", "a"], ["list", "pipeline"],
         ["list", "job"], ["logs", "-p", "p"], ["fsck"], ["gc", "--dry-run"],
         # writes that need a repo or pipeline already there: no store to make them in
         ["put", "file", "a@master:/x", "-f", "x.csv"], ["create", "branch", "a@dev"], ["delete", "repo", "a"],
         ["run"]]


def pachlite(cwd: Path, *args: str, store: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PACHLITE_STORE", None)
    if store:
        env["PACHLITE_STORE"] = str(store)
    return subprocess.run([str(PACHLITE), *args], cwd=cwd, env=env, capture_output=True, stdin=subprocess.DEVNULL,
                          text=True, timeout=60)


@pytest.fixture
def nowhere(tmp_path: Path) -> Path:
    """A folder with no store in it or above it."""
    if store_above(tmp_path):
        pytest.skip(f"{store_above(tmp_path)} is a store above every temporary folder: move it away")
    return tmp_path


@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_a_command_outside_any_store_makes_none_and_says_where_it_looked(nowhere, args):
    p = pachlite(nowhere, *args)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr == (f"pachlite: error: no pachlite store (.pachlite) in {nowhere} or any folder "
                        "above it; make one here with 'pachlite create repo NAME', or set "
                        "$PACHLITE_STORE\n")
    assert list(nowhere.iterdir()) == []


def test_a_missing_store_named_by_the_environment_is_not_made_by_a_read(nowhere):
    p = pachlite(nowhere, "list", "repo", store=nowhere / "elsewhere")
    assert p.returncode == 1
    assert f"no pachlite store at {nowhere / 'elsewhere'} (named by $PACHLITE_STORE)" in p.stderr
    assert not (nowhere / "elsewhere").exists()


def test_create_repo_outside_any_store_makes_one_here_and_subfolders_find_it(nowhere):
    assert pachlite(nowhere, "create", "repo", "a").returncode == 0
    assert (nowhere / ".pachlite" / "pachlite.db").is_file()
    deep = nowhere / "src" / "notebooks"
    deep.mkdir(parents=True)
    p = pachlite(deep, "list", "repo")
    assert p.returncode == 0 and p.stdout.splitlines()[1].split()[1] == "a"
    assert pachlite(deep, "create", "repo", "b").returncode == 0  # into the store found above
    assert not (deep / ".pachlite").exists() and not (nowhere / "src" / ".pachlite").exists()
    assert [line.split()[1] for line in pachlite(nowhere, "list", "repo").stdout.splitlines()[1:]] \
        == ["b", "a"]


def test_the_environment_wins_over_a_store_up_the_tree(nowhere):
    pachlite(nowhere, "create", "repo", "here")
    pachlite(nowhere, "create", "repo", "there", store=nowhere / "other")
    p = pachlite(nowhere, "list", "repo", store=nowhere / "other")
    assert [line.split()[1] for line in p.stdout.splitlines()[1:]] == ["there"]


def test_put_file_sync_makes_the_store_as_the_workflows_ingest_does(nowhere):
    (nowhere / "d.csv").write_text("x\n1\n")
    p = pachlite(nowhere, "put", "file", "training@master:/d.csv", "-f", "d.csv", "--sync")
    assert p.returncode == 0, p.stderr
    assert "/d.csv" in pachlite(nowhere, "list", "file", "training@master").stdout
    plain = pachlite(nowhere / ".pachlite" / "objects", "put", "file", "x@master", "-f", "../../d.csv")
    assert plain.returncode == 1 and "repo x" in plain.stderr  # the store above, not a new one


def test_snakemakes_view_finds_the_same_store(nowhere, monkeypatch):
    monkeypatch.delenv("PACHLITE_STORE", raising=False)
    monkeypatch.chdir(nowhere)
    assert snake.store_root() == Path(".pachlite")  # none yet: the first rule makes it here
    (nowhere / ".pachlite").mkdir()
    (nowhere / "sub").mkdir()
    monkeypatch.chdir(nowhere / "sub")
    assert snake.store_root() == nowhere / ".pachlite"
    monkeypatch.setenv("PACHLITE_STORE", str(nowhere / "other"))
    assert snake.store_root() == nowhere / "other"
