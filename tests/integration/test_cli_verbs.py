"""pachctl's verbs and flags through the real `pachlite` command: short commit ids, copy file,
branches (inspect, delete, provenance, triggers), find and subscribe commit, list commit across
repos, list job filters, stop job, start/stop pipeline, logs -f/--tail/--since, inspect and diff
file as pachctl prints them, version, and help on every option."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import time

import click
import pytest
from google.protobuf.json_format import Parse
from python_pachyderm.proto.v2.pps.pps_pb2 import LogMessage

from helpers import PACHLITE, messages

COPY = {"pipeline": {"name": "copy"}, "input": {"pfs": {"repo": "data", "glob": "/*"}},
        "transform": {"cmd": ["sh", "-c", "echo hello $(ls /pfs/data); cp -r /pfs/data/* /pfs/out/"]}}


@pytest.fixture
def cli(cli):
    cli("create", "repo", "data")
    return cli


def ids(cli, repo: str) -> list[str]:
    """The repo's commit ids, newest first."""
    return [c["commit"]["id"] for c in cli.raw("list", "commit", repo)]


# ---- addresses --------------------------------------------------------------------------------

def test_a_short_commit_id_works_in_every_address(cli):
    cli("put", "file", "data@master:/a", "-f", cli.file("a", "one"))
    cli("put", "file", "data@master:/a", "-f", cli.file("b", "two"))
    old, _ = reversed(ids(cli, "data"))
    short = old[:8]
    assert cli.out("get", "file", f"data@{short}:/a") == "one"
    assert cli.raw("inspect", "commit", f"data@{short}")["commit"]["id"] == old
    assert cli.out("list", "file", f"data@{short}").split()[3] == "/a"
    assert [c["commit"]["id"] for c in cli.raw("list", "commit", f"data@{short}")] == [old]
    cli("create", "branch", "data@v1", "--head", short)
    assert cli.raw("inspect", "branch", "data@v1")["head"]["id"] == old
    # a commit is immutable, named in full or not
    p = cli("put", "file", f"data@{short}:/b", "-f", "a", ok=False)
    assert "finished commits are immutable" in p.stderr
    p = cli("get", "file", "data@0000ffff:/a", ok=False)
    assert p.stderr == ("pachlite: error: no branch or commit 0000ffff in repo data; list them "
                        "with 'pachlite list branch data' and 'pachlite list commit data'\n")
    # a branch of that name wins over the commit
    cli("create", "branch", f"data@{short}", "--head", "master")
    assert cli.out("get", "file", f"data@{short}:/a") == "two"


def test_an_ambiguous_short_id_names_the_candidates(cli):
    with cli.lib() as pfs:
        h, size, data = pfs.store.read_content(io.BytesIO(b"x"))
        for last in "12":
            pfs.write_commit("data", "master", {"/x": (h, size)}, [(h, size, data)],
                             commit_id="abcd" + "0" * 27 + last)
    p = cli("get", "file", "data@abcd:/x", ok=False)
    assert p.stderr == ("pachlite: error: commit id abcd is ambiguous in repo data: it starts "
                        f"abcd{'0' * 27}1, abcd{'0' * 27}2; give more digits of the id\n")
    assert cli.out("get", "file", f"data@abcd{'0' * 27}1:/x") == "x"


# ---- files ------------------------------------------------------------------------------------

def test_copy_file_shares_the_content_in_one_commit(cli):
    cli("put", "file", "data@master:/d", "-f", cli.file("a", "A"))
    cli("put", "file", "data@master:/dir/b", "-f", cli.file("b", "B"))
    cli("create", "repo", "other")
    before = len(ids(cli, "data"))
    cli("copy", "file", "data@master:/dir", "other@master:/copied")
    cli("copy", "file", "data@master:/d", "data@master:/e")
    assert len(ids(cli, "data")) == before + 1
    assert cli.out("get", "file", "other@master:/copied/b") == "B"
    assert cli.out("get", "file", "data@master:/e") == "A"
    cli("copy", "file", "data@master:/d", "data@master:/e", "-a")
    assert cli.out("get", "file", "data@master:/e") == "AA"
    p = cli("copy", "file", "data@master:/nope", "data@master:/x", ok=False)
    assert "no such file or directory" in p.stderr
    p = cli("copy", "file", "data@master:/d", f"data@{ids(cli, 'data')[0]}:/x", ok=False)
    assert "finished commits are immutable" in p.stderr
    assert "no problems found" in cli.out("fsck")


def test_inspect_file_and_diff_file_as_pachctl_prints_them(cli):
    cli("put", "file", "data@master:/a.txt", "-f", cli.file("a", "one\n"))
    cli("put", "file", "data@master:/a.txt", "-f", cli.file("b", "two\n"))
    cli("put", "file", "data@master:/dir/c.txt", "-f", "b")
    assert cli.out("inspect", "file", "data@master:/a.txt") == "Path: /a.txt\nDatum: \nType: file\nSize: 4B\n"
    assert cli.out("inspect", "file", "data@master:/dir").splitlines()[2] == "Type: dir"
    assert cli.out("diff", "file", "data@master", "data@master~2", "--name-only").splitlines() == [
        "OP NAME       TYPE SIZE", "+  /a.txt     file 4B", "-  /a.txt     file 4B",
        "+  /dir/c.txt file 4B"]
    assert cli.out("diff", "file", "data@master:/", "data@master~2", "--name-only", "-s").splitlines()[1:] == [
        "+  /a.txt file 4B", "-  /a.txt file 4B"]
    text = cli.out("diff", "file", "data@master~1", "--diff-command", "diff -u")
    assert "-one\n+two\n" in text
    p = cli("diff", "file", "data@master~1", "--diff-command", "no-such-diff", ok=False)
    assert "cannot run no-such-diff" in p.stderr


# ---- branches ---------------------------------------------------------------------------------

def test_inspect_and_delete_branch(cli):
    cli("put", "file", "data@master:/a", "-f", cli.file("a", "1"))
    head = ids(cli, "data")[0]
    cli("create", "branch", "data@dev", "--head", "master")
    assert cli.out("inspect", "branch", "data@dev") == f"Name: data@dev\nHead Commit: data@{head} \n"
    cli("create", "branch", "data@derived", "-p", "data@dev")
    assert cli.out("inspect", "branch", "data@derived") == "Name: data@derived\nProvenance: data@dev \n"
    dev = cli.raw("inspect", "branch", "data@dev")
    assert [b["name"] for b in dev["subvenance"]] == ["derived"]
    p = cli("delete", "branch", "data@dev", ok=False)
    assert p.stderr == ("pachlite: error: branch data@dev is followed by data@derived; delete "
                        "those first, or pass --force\n")
    cli("delete", "branch", "data@dev", "--force")
    assert [b["branch"]["name"] for b in cli.raw("list", "branch", "data")] == ["derived", "master"]
    assert cli.out("get", "file", f"data@{head}:/a") == "1"  # the commits stay
    p = cli("create", "branch", "data@x", "-p", "data@nope", ok=False)
    assert "provenance branch data@nope not found" in p.stderr
    assert cli.out("inspect", "branch", "data@derived") == "Name: data@derived\n"  # links go too
    cli("create", "branch", "data@dev")
    cli("create", "branch", "data@derived", "-p", "data@dev")
    p = cli("create", "branch", "data@dev", "-p", "data@derived", ok=False)
    assert "would make a cycle" in p.stderr


def test_a_trigger_moves_its_branch_when_its_conditions_hold(cli):
    cli("put", "file", "data@master:/a", "-f", cli.file("a", "1"))
    cli("create", "branch", "data@staging", "--head", "master")
    cli("create", "branch", "data@master", "--trigger", "staging", "--trigger-commits", "2")
    cli("put", "file", "data@staging:/one", "-f", "a")
    assert ids(cli, "data@master") == ids(cli, "data")[1:]  # one commit since master's head
    cli("put", "file", "data@staging:/two", "-f", "a")
    assert ids(cli, "data@master") == ids(cli, "data")  # two: master moves to staging's head
    cli("create", "branch", "data@prod", "--trigger", "staging", "--trigger-commits", "2")
    cli("create", "branch", "data@big", "--trigger", "staging", "--trigger-size", "1KB",
        "--trigger-commits", "3", "--trigger-all")
    table = cli.out("list", "branch", "data").splitlines()
    assert table[0].split() == ["BRANCH", "HEAD", "TRIGGER"]
    assert table[1].endswith("staging on Size(1KB) and Commits(3)")
    assert table[3].endswith("staging on Commits(2)")

    def head(branch):
        return cli.raw("inspect", "branch", f"data@{branch}").get("head", {}).get("id")
    cli("put", "file", "data@staging:/b", "-f", "a")
    assert head("prod") == head("staging")  # two commits since prod's (empty) head
    first = head("staging")
    cli("put", "file", "data@staging:/c", "-f", "a")
    assert head("prod") == first  # one commit since prod's head: not yet
    cli("put", "file", "data@staging:/d", "-f", "a")
    assert head("prod") == head("staging")
    assert head("big") is None  # three commits, but not 1KB more
    cli("put", "file", "data@staging:/e", "-f", cli.file("k", "k" * 1000))
    assert head("big") == head("staging")
    trig = cli.raw("inspect", "branch", "data@big")["trigger"]
    assert trig == {"branch": "staging", "all": True, "size": "1KB", "commits": "3"}


@pytest.mark.parametrize("args,error", [
    (["-p", "data@master", "-t", "master"],
     "cannot use provenance and triggers on the same branch; drop --provenance or --trigger"),
    (["--trigger-size", "1MB"],
     "trigger condition specified without a branch to trigger on; specify a branch with --trigger"),
    (["-t", "master", "--trigger-cron", "@every 1h"],
     "pachlite does not run cron triggers; use --trigger-size or --trigger-commits"),
    (["-t", "master", "--trigger-size", "lots"],
     "invalid trigger size 'lots'; give a size like 1MB, 500K or 1024"),
    (["-t", "t"], "triggers cannot form a loop (data@t follows itself); trigger on another branch"),
])
def test_bad_branch_links_are_one_line_and_change_nothing(cli, args, error):
    before = cli.out("list", "branch", "data")
    p = cli("create", "branch", "data@t", *args, ok=False)
    assert p.stderr == f"pachlite: error: {error}\n"
    assert cli.out("list", "branch", "data") == before


# ---- commits ----------------------------------------------------------------------------------

def test_find_commit(cli):
    for text in ("1", "2"):
        cli("put", "file", "data@master:/f", "-f", cli.file("f", text))
    cli("put", "file", "data@master:/g", "-f", "f")
    newest, second, first = ids(cli, "data")
    assert cli.out("find", "commit", "data@master:/f") == (
        f"FOUND IN COMMITS\n{second}\n{first}\n\nLAST SEARCHED COMMIT\n{first}\n")
    assert cli.out("find", "commit", "data@master:/f", "--limit", "1") == (
        f"FOUND IN COMMITS\n{second}\n\nLAST SEARCHED COMMIT\n{second}\n")
    assert cli.out("find", "commit", "data@master:/nope") == (
        f"FOUND IN COMMITS\nno commits found.\n\nLAST SEARCHED COMMIT\n{first}\n")


def test_list_commit_across_repos_and_by_origin(cli):
    cli("put", "file", "data@master:/a", "-f", cli.file("a", "1"))
    cli("create", "pipeline", "-f", cli.spec(COPY))
    rows = cli.out("list", "commit").splitlines()
    assert [r.split()[:3] for r in rows[1:]] == [["default", "copy", "master"], ["default", "data", "master"]]
    auto = cli.raw("list", "commit", "--origin", "auto")
    assert [c["commit"]["repo"]["name"] for c in auto] == ["copy"]
    assert [c["commit"]["repo"]["name"] for c in cli.raw("list", "commit", "--all")] == ["copy", "data"]
    p = cli("list", "commit", "--all", "--origin", "USER", ok=False)
    assert p.stderr == "pachlite: error: cannot specify both --all and --origin; drop one of them\n"
    cli("put", "file", "data@master:/b", "-f", "a")
    cli("put", "file", "data@master:/c", "-f", "a")
    newest, middle, oldest = ids(cli, "data")
    since = cli.raw("list", "commit", "data@master", "--from", oldest)
    assert [c["commit"]["id"] for c in since] == [newest, middle]


def test_subscribe_commit_prints_commits_as_they_finish(cli):
    cli("put", "file", "data@master:/a", "-f", cli.file("a", "1"))
    [old] = ids(cli, "data")
    outs = {name: cli.root / f"{name}.out" for name in ("raw", "new")}
    procs = {}
    for name, args in (("raw", ["--raw"]), ("new", ["--new"])):
        with open(outs[name], "wb") as out:
            procs[name] = subprocess.Popen([str(PACHLITE), "subscribe", "commit", "data@master", *args],
                                           env=cli.env, cwd=cli.root, stdout=out,
                                           stderr=subprocess.PIPE)
    try:
        time.sleep(1.0)
        cli("put", "file", "data@master:/b", "-f", "a")
        newest = ids(cli, "data")[0]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(newest in o.read_text() for o in outs.values()):
            time.sleep(0.1)
    finally:
        for p in procs.values():
            p.send_signal(signal.SIGINT)  # Ctrl-C ends it, quietly
    for p in procs.values():
        _, err = p.communicate(timeout=20)
        assert p.returncode == 0 and err == b"", err
    assert [m["commit"]["id"] for m in messages(outs["raw"].read_text())] == [old, newest]
    lines = outs["new"].read_text().splitlines()
    assert lines[0].split()[:4] == ["PROJECT", "REPO", "BRANCH", "COMMIT"] and len(lines) == 2
    assert lines[1].split()[:4] == ["default", "data", "master", newest]
    p = cli("subscribe", "commit", "data@master", "--new", "--from", old, ok=False)
    assert p.stderr == "pachlite: error: --new and --from cannot be used together; drop one of them\n"


def test_subscribe_commit_ends_when_nothing_reads_it(cli):
    cli("put", "file", "data@master:/a", "-f", cli.file("a", "1"))
    cli("put", "file", "data@master:/b", "-f", "a")
    p = subprocess.run(f"'{PACHLITE}' subscribe commit data@master | head -n 2", shell=True,
                       env=cli.env, cwd=cli.root, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and len(p.stdout.splitlines()) == 2, p


# ---- jobs and pipelines -----------------------------------------------------------------------

def test_list_job_filters(cli):
    cli("put", "file", "data@master:/a", "-f", cli.file("a", "1"))
    cli("create", "pipeline", "-f", cli.spec(COPY))
    first = cli.jobs()[0]["id"]
    cli("update", "pipeline", "-f", cli.spec({**COPY, "datumTries": 2}))  # version 2: a new job
    second = cli.jobs()[0]["id"]

    def listed(*args):
        return [m["job"]["id"] for m in cli.raw("list", "job", *args)]
    assert listed() == [second]  # --history none: the current version's jobs
    assert listed("--history", "all") == listed("--history", "1") == [second, first]
    assert listed("--state", "JOB_FAILURE") == []
    assert listed("--state", "success", "--state", "failure", "--history", "all") == [second, first]
    cli("put", "file", "data@master:/b", "-f", "a")
    head = ids(cli, "data")[0]
    cli("run")
    assert listed("-i", f"data@{head}") == [cli.jobs()[0]["id"]]
    p = cli("list", "job", "--state", "bogus", ok=False)
    assert "unknown job state 'bogus'" in p.stderr
    p = cli("list", "job", "--history", "some", ok=False)
    assert "invalid --history 'some'" in p.stderr


def test_a_stopped_pipeline_runs_no_job_until_started(cli):
    cli("put", "file", "data@master:/a", "-f", cli.file("a", "1"))
    cli("create", "pipeline", "-f", cli.spec(COPY))
    cli("stop", "pipeline", "copy")
    assert cli.out("list", "pipeline").splitlines()[1].endswith("paused / success")
    assert cli.raw("inspect", "pipeline", "copy")["state"] == "PIPELINE_PAUSED"
    cli("put", "file", "data@master:/b", "-f", "a")
    assert cli.out("run") == ("copy: stopped: the pipeline is stopped; start it with "
                              "'pachlite start pipeline copy'\n")
    assert len(cli.jobs()) == 1
    cli("start", "pipeline", "copy")
    assert cli.out("run").startswith("copy: job ")
    assert cli.out("list", "pipeline").splitlines()[1].endswith("running / success")
    cli("stop", "pipeline", "nope", ok=False)


def test_stop_job_stops_a_running_job(cli):
    for name in "abc":
        cli("put", "file", f"data@master:/{name}", "-f", cli.file(name, name))
    slow = {**COPY, "transform": {"cmd": ["sh", "-c", "sleep 30"]}, "parallelismSpec": {"constant": 1}}
    cli("create", "pipeline", "-f", cli.spec({**slow, "transform": {"cmd": ["true"]}}))
    cli("put", "file", "data@master:/d", "-f", "a")
    run = cli.popen("update", "pipeline", "-f", cli.spec(slow))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (cli.jobs() and cli.jobs()[0]["state"] == "running"):
        time.sleep(0.1)
    job = cli.jobs()[0]
    assert job["state"] == "running"
    started = time.monotonic()
    cli("stop", "job", f"copy@{job['id'][:8]}")
    assert time.monotonic() - started < 20
    run.communicate(timeout=20)
    assert run.returncode != 0
    assert cli.jobs()[0]["state"] == "killed"
    p = cli("stop", "job", f"copy@{cli.jobs()[1]['id']}", ok=False)
    assert "already finished (success); only a running job can be stopped" in p.stderr


def test_logs_follow_a_running_job_to_its_end(cli):
    for name in "abc":
        cli("put", "file", f"data@master:/{name}", "-f", cli.file(name, name))
    slow = {**COPY, "transform": {"cmd": ["sh", "-c", "sleep 1; echo done $(ls /pfs/data)"]},
            "parallelismSpec": {"constant": 1}}
    run = cli.popen("create", "pipeline", "-f", cli.spec(slow))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not cli.jobs():
        time.sleep(0.1)
    job = cli.jobs()[0]
    assert job["state"] == "running"
    followed = cli.out("logs", "-j", f"copy@{job['id']}", "-f")
    run.communicate(timeout=60)
    assert sorted(line.split("] ")[1] for line in followed.splitlines()) == [
        "done a", "done b", "done c"]


def test_logs_tail_since_and_follow(cli):
    for name in "ab":
        cli("put", "file", f"data@master:/{name}", "-f", cli.file(name, name))
    cli("create", "pipeline", "-f", cli.spec(COPY))
    job = cli.jobs()[0]["id"]
    lines = cli.out("logs", "-p", "copy").splitlines()
    assert sorted(line.split("] ")[1] for line in lines) == ["hello a", "hello b"]
    assert cli.out("logs", "-p", "copy", "--tail", "1").splitlines() == lines[-1:]
    assert cli.out("logs", "-j", f"copy@{job[:6]}") == cli.out("logs", "-p", "copy")
    time.sleep(1.2)
    assert cli.out("logs", "-p", "copy", "--since", "1s") == ""
    assert cli.out("logs", "-p", "copy", "--since", "1h30m").splitlines() == lines
    # -f on a finished job prints its logs and ends; on a running one, follows it to its end
    assert cli.out("logs", "-j", f"copy@{job}", "-f").splitlines() == lines
    raw = [json.loads(line) for line in cli.out("logs", "-p", "copy", "--raw").splitlines()]
    for msg in raw:  # pachd's LogMessage, one JSON object a line
        Parse(json.dumps(msg), LogMessage(), ignore_unknown_fields=False)
    assert sorted((m["jobId"], m["message"]) for m in raw) == [(job, "hello a"), (job, "hello b")]
    p = cli("logs", "-p", "copy", "--since", "yesterday", ok=False)
    assert "invalid --since 'yesterday'" in p.stderr
    p = cli("logs", ok=False)
    assert p.stderr == "pachlite: error: logs needs a pipeline; pass -p PIPELINE or --job PIPELINE@JOB\n"


# ---- the command itself -----------------------------------------------------------------------

def test_version(cli):
    assert cli.out("version", "--client-only").strip() == __import__("pachlite").__version__
    assert cli.out("version").splitlines()[1:] == [f"pachlite  {__import__('pachlite').__version__}",
                                                   "store     format "
                                                   f"{__import__('pachlite.store').store.FORMAT_VERSION}"]


def test_every_option_of_every_verb_has_help():
    from pachlite.cli import cli as root
    root.load(None)
    missing = []

    def walk(cmd, path):
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])
            return
        if not cmd.help:
            missing.append(" ".join(path))
        missing.extend(f"{' '.join(path)} {p.opts[0]}" for p in cmd.params
                       if isinstance(p, click.Option) and not p.help)
    walk(root, [])
    assert missing == []


def test_raw_output_is_one_object_per_item(cli):
    cli("put", "file", "data@master:/a", "-f", cli.file("a", "1"))
    cli("put", "file", "data@master:/b", "-f", "a")
    out = cli.out("list", "commit", "data", "--raw")
    assert out.startswith('{\n  "commit": {') and "}\n{\n" in out  # pachctl's stream of objects
    assert len(messages(out)) == 2 and json.loads(cli.out("inspect", "repo", "data", "--raw"))


def test_raw_yaml_is_the_same_messages(cli):
    import yaml
    cli("put", "file", "data@master:/a", "-f", cli.file("a", "1"))
    cli("put", "file", "data@master:/b", "-f", "a")
    for args in (["list", "commit", "data"], ["inspect", "repo", "data"], ["list", "file", "data@master"]):
        as_json = messages(cli.out(*args, "--raw"))
        assert list(yaml.safe_load_all(cli.out(*args, "--raw", "-o", "yaml"))) == as_json
        assert messages(cli.out(*args, "--raw", "-o", "json")) == as_json
    p = cli("list", "repo", "-o", "yaml", ok=False)
    assert p.stderr == "pachlite: error: cannot set --output (-o) without --raw; add --raw\n"
