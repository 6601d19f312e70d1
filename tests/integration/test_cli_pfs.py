"""PFS through the real `pachlite` command, as a user runs it: tables, --raw, errors, crashes.

Each test has its own store (PACHLITE_STORE in tmp_path). Set-up that is not under test goes
through the library, so the subprocess calls are the ones that matter.
"""

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers import Cli, put
from pachlite.pfs.address import parse
from pachlite.store import Store

CID = "0123456789abcdef0123456789abcdef"


def write_tree(root: Path, n: int) -> dict[str, str]:
    """n small files in 10 folders; returns {relative path: sha256} computed here."""
    out = {}
    for i in range(n):
        p = root / f"d{i % 10}" / f"f{i:05d}.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"id": i, "v": i * 7 % 13}).encode()
        p.write_bytes(data)
        out[f"/d{i % 10}/f{i:05d}.json"] = hashlib.sha256(data).hexdigest()
    return out


def lib_put(cli: Cli, address: str, files: dict[str, bytes]) -> str:
    """Set-up through the library: create the repo if need be, put files in one commit."""
    with cli.lib() as pfs:
        pfs.create_repo(parse(address).repo, exist_ok=True)
        return put(pfs, address, files).id


# ---- the everyday verbs ----------------------------------------------------------------------

def test_repo_commit_and_file_verbs_print_pachctl_tables(cli, tmp_path):
    (tmp_path / "a.csv").write_text("x,y\n1,2\n")
    (tmp_path / "dir" / "sub").mkdir(parents=True)
    (tmp_path / "dir" / "b.json").write_text("{}")
    (tmp_path / "dir" / "sub" / "c.txt").write_text("hello")
    cli("create", "repo", "data", "-d", "inputs")
    cli("put", "file", "data@master:/a.csv", "-f", "a.csv", "-m", "first")
    cli("put", "file", "data@master", "-r", "-f", "dir")
    cli("put", "file", "data@master:/notes.txt", "-f", "-", input="from stdin\n")

    repos = cli.out("list", "repo").splitlines()
    assert repos[0].split() == ["PROJECT", "NAME", "CREATED", "SIZE", "(MASTER)", "DESCRIPTION"]
    assert repos[1].split()[:2] == ["default", "data"] and repos[1].endswith("inputs")
    # pachctl's relative times; the puts above take a second or more on a loaded machine
    assert re.search(r"(Less than a second|\d+ seconds?) ago", repos[1]), repos[1]

    files = cli.out("list", "file", "data@master").splitlines()
    assert [line.split() for line in files] == [
        ["NAME", "TYPE", "SIZE"], ["/a.csv", "file", "8B"], ["/dir/", "dir", "7B"],
        ["/notes.txt", "file", "11B"]]
    assert cli.out("list", "file", "data@master:/dir").split()[3:] == [
        "/dir/b.json", "file", "2B", "/dir/sub/", "dir", "5B"]
    assert [f["file"]["path"] for f in cli.raw("glob", "file", "data@master:/**.t?t")] == [
        "/dir/sub/c.txt", "/notes.txt"]

    commits = cli.raw("list", "commit", "data")
    assert [c.get("description") for c in commits] == [None, None, "first"]
    assert [c["origin"]["kind"] for c in commits] == ["USER"] * 3
    ids = [c["commit"]["id"] for c in commits]
    assert commits[0]["parent_commit"]["id"] == ids[1] and "parent_commit" not in commits[2]
    table = cli.out("list", "commit", "data@master", "-n", "2").splitlines()
    assert table[0].split() == ["PROJECT", "REPO", "BRANCH", "COMMIT", "FINISHED", "SIZE", "ORIGIN",
                                "DESCRIPTION"]
    assert len(table) == 3 and ids[0] in table[1]

    inspect = cli.out("inspect", "commit", "data@master^")
    assert f"Commit: data@{ids[1]}" in inspect
    assert f"Parent: {ids[2]}" in inspect
    assert "Size: 15B" in inspect and "Provenance: <none>" in inspect

    assert cli.out("get", "file", "data@master:/dir/sub/c.txt") == "hello"
    cli("get", "file", "data@master~2:/a.csv", "-o", "copy.csv")
    assert (tmp_path / "copy.csv").read_text() == "x,y\n1,2\n"

    diff = cli.out("diff", "file", "data@master", "--name-only").splitlines()
    assert [line.split() for line in diff] == [["OP", "NAME", "TYPE", "SIZE"],
                                               ["+", "/notes.txt", "file", "11B"]]
    assert cli.out("fsck").strip() == "no problems found"


def test_append_overwrite_delete_and_rollback(cli, tmp_path):
    (tmp_path / "l1").write_text("one\n")
    (tmp_path / "l2").write_text("two\n")
    cli("create", "repo", "logs")
    cli("put", "file", "logs@master:/log", "-f", "l1")
    cli("put", "file", "logs@master:/log", "-f", "l2", "--append")
    assert cli.out("get", "file", "logs@master:/log") == "one\ntwo\n"
    cli("put", "file", "logs@master:/log", "-f", "l1")  # overwrite is the default
    assert cli.out("get", "file", "logs@master:/log") == "one\n"
    cli("delete", "file", "logs@master:/log")
    assert cli.out("list", "file", "logs@master").splitlines() == ["NAME TYPE SIZE"]
    # Roll master back two commits; the newer ones stay reachable by id.
    newest = cli.raw("list", "commit", "logs")[0]["commit"]["id"]
    cli("create", "branch", "logs@master", "--head", "master~2")
    assert cli.out("get", "file", "logs@master:/log") == "one\ntwo\n"
    assert cli.raw("list", "branch", "logs")[0]["head"]["id"] != newest
    assert cli.out("list", "file", f"logs@{newest}").splitlines() == ["NAME TYPE SIZE"]


def test_start_and_finish_commit(cli, tmp_path):
    (tmp_path / "f").write_text("x")
    cli("create", "repo", "r")
    cid = cli.out("start", "commit", "r@master", "-m", "batch").strip()
    cli("put", "file", "r@master:/a", "-f", "f")
    cli("put", "file", "r@master:/b", "-f", "f")
    assert "finished" not in cli.raw("inspect", "commit", f"r@{cid}")
    cli("finish", "commit", "r@master")
    c = cli.raw("inspect", "commit", "r@master")
    assert (c["commit"]["id"], c["details"]["size_bytes"], c["description"]) == (cid, "2", "batch")
    assert c["finished"] >= c["started"]
    assert len(cli.raw("list", "commit", "r")) == 1


# ---- bad input: exit 1, one line naming problem and fix, nothing stored changes ---------------

BAD = [
    (["list", "file", "nope@master"], "repo nope not found"),
    (["list", "file", "r@dev"], "branch dev not found in repo r"),
    (["inspect", "commit", f"r@{CID}"], f"commit {CID} not found in repo r"),
    (["get", "file", "r@master:/missing.csv"], "r@master:/missing.csv: no such file or directory"),
    (["get", "file", "r@master:/d"], "is a directory"),
    (["delete", "file", "r@master:/missing.csv"], "no such file or directory"),
    (["create", "repo", "my repo"], "invalid repo name 'my repo'"),
    (["put", "file", "bad.name@master:/x", "-f", "f.txt"], "invalid repo name 'bad.name'"),
    (["create", "branch", "r@bad/branch"], "invalid branch name 'bad/branch'"),
    (["put", "file", "r@master:../escape", "-f", "f.txt"], "escapes the repo"),
    (["put", "file", "r@master", "-r", "-f", "linked"], "points outside"),
    (["put", "file", "r@master:/x", "-f", "missing.txt"], "local file 'missing.txt' does not exist"),
    (["put", "file", "r@master", "-f", "linked"], "'linked' is a directory"),
    (["put", "file", "r@master", "-f", "-"], "needs a file path"),
    (["list", "file", "empty@master"], "empty@master has no commits yet"),
    (["put", "file", "r@{head}:/x", "-f", "f.txt"], "finished commits are immutable"),
    (["put", "file", "r@master^:/x", "-f", "f.txt"], "finished commits are immutable"),
    (["delete", "file", "r@{head}:/d"], "finished commits are immutable"),
    (["start", "commit", "r@{head}"], "names a commit, not a branch"),
    (["put", "file", "r@master:/d/f.txt/x", "-f", "f.txt"], "/d/f.txt is a file"),
    (["list", "commit", "r@master^^^"], "goes back 3 commits"),
    (["finish", "commit", "r@master"], "is already finished"),
    (["create", "repo", "r"], "repo r already exists"),
]


@pytest.mark.parametrize("args, problem", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_fails_with_one_line_and_changes_nothing(cli, tmp_path, args, problem):
    (tmp_path / "f.txt").write_text("data")
    (tmp_path / "linked").mkdir()
    (tmp_path / "linked" / "ok.txt").write_text("ok")
    os.symlink(tmp_path / "f.txt", tmp_path / "linked" / "outside.txt")
    head = lib_put(cli, "r@master", {"/d/f.txt": b"x"})
    with cli.lib() as pfs:
        pfs.create_repo("empty")
    before = cli.out("list", "commit", "r", "--raw"), branches(cli)

    r = cli(*[a.format(head=head) for a in args], ok=False)

    err = r.stderr
    assert r.returncode == 1
    assert err.count("\n") == 1 and err.startswith("pachlite: error: "), err
    assert problem.format(head=head) in err
    assert "; " in err.split(problem, 1)[1], f"no fix after the problem: {err}"
    assert "Traceback" not in err and r.stdout == ""
    assert (cli.out("list", "commit", "r", "--raw"), branches(cli)) == before


# ---- crashes and concurrent writers --------------------------------------------------------

@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("tree")
    return root, write_tree(root, 3000)


def files_of(cli: Cli, commit: str) -> dict[str, str]:
    with cli.lib() as pfs:
        return {p: h for p, h, _ in pfs.files(commit)}


def branches(cli: Cli) -> list:
    """Every branch of every repo, with its head."""
    with cli.lib() as pfs:
        return [b for r in pfs.list_repo() for b in pfs.list_branch(r.name)]


def head(cli: Cli, repo: str = "r") -> str:
    return {(b.repo, b.name): b.head for b in branches(cli)}[(repo, "master")]


def test_kill_9_during_put_leaves_the_old_head_or_the_whole_new_commit(cli, tree):
    """Kill -9 `put file -r` of 3,000 files at random moments: never a partial commit."""
    src, hashes = tree
    cli("create", "repo", "r")
    t = time.perf_counter()
    cli("put", "file", "r@master:/v0", "-r", "-f", str(src))
    full = time.perf_counter() - t
    expected = {f"/v0{p}": h for p, h in hashes.items()}
    # Moments spread over the whole run (stratified): reading files, committing, exiting.
    rnd = random.Random(20261122)
    n = 12
    delays = [1.2 * full * (i + rnd.random()) / n for i in range(n)]
    outcomes = []
    for k, delay in enumerate(delays, start=1):
        old = head(cli)
        p = cli.popen("put", "file", f"r@master:/v{k}", "-r", "-f", str(src))
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.communicate()
        where = f"attempt {k}, killed after {delay:.3f} s of {full:.3f}"

        new = head(cli)  # the store opens and reads
        outcomes.append("whole new commit" if new != old else "old head")
        if new != old:
            with cli.lib() as pfs:
                c = pfs.resolve(parse(f"r@{new}"))
            assert c.parent == old and c.finished is not None, where
            expected.update({f"/v{k}{p}": h for p, h in hashes.items()})
        assert files_of(cli, new) == expected, where
        assert cli("fsck", ok=None).stdout == "no problems found\n", where
    # The store still takes writes after all that.
    cli("put", "file", "r@master:/v99", "-r", "-f", str(src))
    assert len(files_of(cli, head(cli))) == len(expected) + len(hashes)
    print("kill outcomes:", outcomes)


def test_two_writers_at_once_are_serialised(cli, tree):
    src, hashes = tree
    cli("create", "repo", "r")
    procs = [cli.popen("put", "file", f"r@master:/{name}", "-r", "-f", str(src))
             for name in ("a", "b")]
    errs = [p.communicate()[1].decode() for p in procs]
    results = [(p.returncode, err) for p, err in zip(procs, errs)]
    landed = [name for name, (rc, _) in zip("ab", results) if rc == 0]
    print("landed:", landed)
    for rc, err in results:
        assert rc == 0 or "is busy: another pachlite process is writing" in err, err
    commits = cli.raw("list", "commit", "r@master")
    assert len(commits) == len(landed) >= 1
    if len(commits) == 2:
        # in sequence, not side by side
        assert commits[0]["parent_commit"]["id"] == commits[1]["commit"]["id"]
    files = files_of(cli, commits[0]["commit"]["id"])
    assert files == {f"/{n}{p}": h for n in landed for p, h in hashes.items()}
    cli("fsck")


def test_a_writer_that_waits_too_long_is_refused(cli):
    lib_put(cli, "r@master", {"/a": b"1"})
    before = cli.out("list", "commit", "r", "--raw")
    holder = Store(cli.store)
    try:
        with holder.transaction():  # another writer, mid-transaction
            cli.env["PACHLITE_BUSY_TIMEOUT"] = "0.2"
            r = cli("put", "file", "r@master:/b", "-f", "-", input="2", ok=False)
    finally:
        holder.close()
    err = r.stderr
    assert r.returncode == 1 and err.count("\n") == 1
    assert "is busy: another pachlite process is writing; wait for it to finish" in err
    assert cli.out("list", "commit", "r", "--raw") == before


def test_concurrent_appends_are_not_lost(cli):
    lib_put(cli, "r@master", {"/log": b"start\n"})
    procs = [cli.popen("put", "file", "r@master:/log", "--append", "-f", "-", stdin=subprocess.PIPE)
             for _ in range(2)]
    for i, p in enumerate(procs):
        p.communicate(f"line {i}\n".encode())
        assert p.returncode == 0
    lines = cli.out("get", "file", "r@master:/log").splitlines()
    assert lines[0] == "start" and sorted(lines[1:]) == ["line 0", "line 1"]


def test_gc_says_what_it_would_remove_then_removes_it(cli, tmp_path):
    (tmp_path / "f").write_bytes(b"only in a repo that goes")
    cli("create", "repo", "old")
    cli("put", "file", "old@master:/f", "-f", str(tmp_path / "f"))
    cli("delete", "repo", "old")
    assert cli.out("gc", "--dry-run", "--min-age", "0").startswith("would remove 1 objects (24B)")
    assert cli.out("gc", "--min-age", "0").startswith("removed 1 objects (24B)")
    assert cli.out("gc", "--min-age", "0").startswith("removed 0 objects")
    assert cli.out("fsck").strip() == "no problems found"


# ---- names that are not UTF-8 --------------------------------------------------------------
# Pachyderm keeps any bytes as a path; pachlite's store keeps text, so such a name is refused
# with its bytes shown escaped, before anything is stored.

BAD_NAME = os.fsdecode(b"caf\xe9.txt")  # Latin-1 bytes: what an old archive often holds


def test_put_file_r_of_a_folder_holding_a_non_utf8_name_is_refused_and_stores_nothing(cli, tmp_path):
    lib_put(cli, "r@master", {"/kept.txt": b"kept"})
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "ok.txt").write_text("ok")
    (tmp_path / "d" / "sub" / BAD_NAME).write_text("bad")
    before = cli.out("list", "commit", "r", "--raw"), branches(cli)

    for args in (["-r", "-f", "d"], ["-f", os.path.join("d", "sub", BAD_NAME)]):
        err = cli("put", "file", "r@master", *args, ok=False).stderr  # one line, exit 1
        assert "caf\\xe9.txt is not valid UTF-8; rename it" in err, err

    assert (cli.out("list", "commit", "r", "--raw"), branches(cli)) == before


def test_a_transform_writing_a_non_utf8_name_fails_its_datum_with_the_reason(cli):
    lib_put(cli, "r@master", {"/a.txt": b"a"})
    touch = {"pipeline": {"name": "p"}, "input": {"pfs": {"repo": "r", "glob": "/*"}},
             "transform": {"cmd": ["sh", "-c", "echo x > /pfs/out/$(printf 'caf\\351').txt"]}}

    r = cli("create", "pipeline", "-f", cli.spec(touch), ok=False)  # one line on stderr, exit 1

    assert "/pfs/out/caf\\xe9.txt is not a valid UTF-8 file name" in r.stderr, r.stderr
    [job] = cli.jobs()
    assert job["state"] == "failure"
    [out] = cli.raw("list", "commit", "p")  # the job failed: its output commit says why
    # (protobuf JSON leaves out a zero size, as pachctl prints it)
    assert (out["commit"]["id"], out["error"], out.get("details", {}).get("size_bytes", "0")) == \
        (job["id"], job["reason"], "0")
