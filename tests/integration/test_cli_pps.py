"""The pipeline, job, datum and logs verbs through the real `pachlite` command (PACHLITE_STORE).

Columns and progress follow pachctl 2.x (`list job`: PROJECT PIPELINE ID STARTED DURATION PROGRESS DL UL
STATE; progress `processed + skipped / total`). Every failure is one line on stderr, exit 1.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

COPY = {"pipeline": {"name": "copy"}, "input": {"pfs": {"repo": "data", "glob": "/*"}},
        "transform": {"cmd": ["sh", "-c", "echo out $(basename $data); echo err $(basename $data) >&2; "
                                          "cp -r /pfs/data/* /pfs/out/"]}}


@pytest.fixture
def cli(cli):
    """The `cli` fixture with a repo `data`."""
    cli("create", "repo", "data")
    return cli


def test_quick_demo_round_trip(cli):
    cli("put", "file", "data@master:/", "-f", cli.file("f1", "one"), "-f", cli.file("f2", "two"))
    created = cli("create", "pipeline", "-f", cli.spec(COPY)).stdout
    [first] = cli.jobs()
    assert created == f"copy: job {first['id']} success: 2 + 0 / 2\n"

    cli("put", "file", "data@master:/f3", "-f", cli.file("f3", "three"))
    dry = cli("run", "--dry-run").stdout.splitlines()
    assert dry[0] == "copy: would run 1, skip 2, delete 0 datum(s)"
    assert sorted(line.split()[0] for line in dry[1:]) == ["run", "skip", "skip"]
    assert any(line.startswith("  run ") and ":/f3" in line and line.endswith("(new datum)")
               for line in dry)
    assert len(cli.jobs()) == 1  # the dry run made no job

    cli("run")
    table = cli("list", "job").stdout.splitlines()
    assert table[0].split() == ["PROJECT", "PIPELINE", "ID", "STARTED", "DURATION", "PROGRESS", "DL", "UL",
                                "STATE"]
    second, _ = cli.jobs()  # newest first
    assert "1 + 2 / 3" in table[1] and table[1].startswith(f"default copy     {second['id']} ")
    assert table[1].endswith(" 5B 5B success") and table[2].endswith(" 6B 6B success")

    inspect = cli("inspect", "job", f"copy@{second['id']}").stdout
    assert "State: success\n" in inspect and "Reason: -\n" in inspect
    assert "Datums: 1 processed, 2 skipped, 0 failed, 0 recovered, 3 total\n" in inspect
    assert f"Output commit: copy@{second['id']}" in inspect  # the job's commit set

    datums = cli("list", "datum", f"copy@{second['id']}").stdout.splitlines()
    assert datums[0].split() == ["ID", "FILES", "STATUS", "TIME"]
    rows = {line.split()[1].rsplit(":", 1)[1]: line.split() for line in datums[1:]}
    assert {f: r[2] for f, r in rows.items()} == {"/f1": "skipped", "/f2": "skipped",
                                                  "/f3": "success"}
    assert rows["/f1"][3] == "-" and rows["/f3"][3] != "-"  # a time only where it ran

    f3 = rows["/f3"][0]
    shown = cli("inspect", "datum", f"copy@{second['id']}", f3[:10]).stdout
    assert f"ID: {f3}\n" in shown and "State: success\n" in shown and "Outputs: /f3 (5B)" in shown

    assert cli("logs", "-p", "copy").stdout == f"[{f3[:12]}] out f3\n[{f3[:12]}] err f3\n"
    f1 = rows["/f1"][0]
    first_logs = cli("logs", "--pipeline", "copy", "--job", first["id"], "--datum", f1).stdout
    assert first_logs == f"[{f1[:12]}] out f1\n[{f1[:12]}] err f1\n"
    assert cli("get", "file", "copy@master:/f3").stdout == "three"


def test_preview_datums_of_a_spec_without_running_it(cli):
    cli("put", "file", "data@master:/", "-f", cli.file("a", "1"), "-f", cli.file("b", "2"))
    rows = cli.raw("list", "datum", "-f", cli.spec(COPY))
    commit = cli.raw("inspect", "commit", "data@master")["commit"]["id"]
    assert [[(f["file"]["commit"]["id"], f["file"]["path"]) for f in r["data"]] for r in rows] == [
        [(commit, "/a")], [(commit, "/b")]]
    assert cli("list", "pipeline").stdout.splitlines()[1:] == []  # nothing was created


def test_a_failed_job_says_how_to_retry_it_and_restart_datum_does(cli):
    cli("put", "file", "data@master:/", "-f", cli.file("a", "1"), "-f", cli.file("b", "2"))
    cli.file("flag", "broken")  # read by the command, but not code: a fix outside the code
    gate = {**COPY, "transform": {"cmd": ["sh", "-c", 'test "$(cat flag)" = ok || test $data != /pfs/data/b'
                                          ' && cp /pfs/data/* /pfs/out/']}, "datumTries": 1}
    p = cli("create", "pipeline", "-f", cli.spec(gate), ok=False)
    [job] = cli.jobs()
    retry = f"pachlite restart datum copy@{job['id']} /b"
    assert p.stderr.rstrip().endswith(f"or after a fix elsewhere retry it: '{retry}'")

    again = cli("run", ok=False)  # nothing changed: the same failure, no new job
    assert again.stdout.startswith(f"copy: not run again: job {job['id']} failure on these inputs and code")
    assert retry in again.stderr and len(cli.jobs()) == 1
    dry = cli("run", "--dry-run")  # it can plan: exit 0
    assert dry.stdout.startswith(f"copy: would not run: job {job['id']} failure") and retry in dry.stdout
    cli("put", "file", "data@master:/c", "-f", cli.file("c", "3"))
    plan = cli("run", "--dry-run").stdout.splitlines()
    assert plan[0] == "copy: would run 3, skip 0, delete 0 datum(s)"  # no job succeeded yet
    assert [line.split()[0] for line in plan[1:] if ":/b" in line] == ["retry"]
    assert any(":/b" in line and line.endswith(f"(failed in job {job['id']})") for line in plan)
    assert any(":/c" in line and line.endswith("(new datum)") for line in plan)

    cli("restart", "datum", f"copy@{job['id']}", "/a", ok=False)  # /a did not fail
    cli("restart", "datum", "copy", "/b", ok=False)  # no job named
    (cli.root / "flag").write_text("ok")
    out = cli(*retry.split()[1:]).stdout
    [new, *_] = cli.jobs()
    assert out == f"copy: job {new['id']} success: 3 + 0 / 3\n"
    assert cli("get", "file", "copy@master:/b").stdout == "2"


@pytest.mark.parametrize("cmd,reason,log", [
    (["sh", "-c", "echo disk on fire >&2; exit 3"], "command exited with code 3: disk on fire",
     "disk on fire"),
    (["no-such-program"], "command exited with code 127: no-such-program: command not found",
     "no-such-program: command not found"),
    (["sh", "-c", "echo x > /pfs/data/x"], "command exited with code 2: sh: 1: cannot create "
     "/pfs/data/x: Read-only file system", None),  # inputs are read-only
])
def test_failed_job_is_one_line_and_exit_1(cli, cmd, reason, log):
    cli("put", "file", "data@master:/a", "-f", cli.file("a", "1"))
    bad = {**COPY, "transform": {"cmd": cmd}, "datumTries": 1}
    p = cli("create", "pipeline", "-f", cli.spec(bad), ok=False)
    [job] = cli.jobs()
    [datum] = cli.datums(job)
    assert p.stderr == (f"pachlite: error: pipeline copy job {job['id']} failure: datum "
                        f"{datum['id']} failed: {reason}; "
                        f"see 'pachlite logs --pipeline copy --job {job['id']}'; fix the code and "
                        "run again (changed code reprocesses), or after a fix elsewhere retry it: "
                        f"'pachlite restart datum copy@{job['id']} /a'\n")
    assert datum["state"] == "failed" and job["reason"] == f"datum {datum['id']} failed: {reason}"
    if log:
        assert cli("logs", "-p", "copy").stdout.endswith(f"{log}\n")
    # The job's output commit is finished with its reason: nothing in it may be read.
    assert cli("list", "file", "copy@master", ok=False).stderr == (
        f"pachlite: error: copy@master: commit {job['id']} finished with an error: "
        f"{job['reason']}; read the last output that succeeded, e.g. copy@{job['id']}^ "
        "(see 'pachlite list commit copy')\n")


@pytest.mark.parametrize("spec_text,message", [
    ('{"pipeline": {"name": "copy"}, ', "spec.json:1: not valid JSON"),
    (json.dumps({**COPY, "input": {"pfs": {"repo": "nope", "glob": "/*"}}}),
     "spec.json: pipeline copy reads repo nope, which does not exist"),
    (json.dumps({**COPY, "transform": {"cmd": ["sh"]}, "parallelismSpec": {"constant": "many"}}),
     "spec.json: parallelismSpec.constant"),
])
def test_bad_spec_is_one_line_naming_the_file(cli, spec_text, message):
    cli.file("spec.json", spec_text)
    p = cli("create", "pipeline", "-f", "spec.json", ok=False)
    assert p.stderr.startswith(f"pachlite: error: {message}")


def test_glob_matching_nothing_succeeds_with_zero_datums(cli):
    cli("put", "file", "data@master:/a", "-f", cli.file("a", "1"))
    spec = {**COPY, "input": {"pfs": {"repo": "data", "glob": "/nothing*"}}}
    out = cli("create", "pipeline", "-f", cli.spec(spec)).stdout
    assert out.endswith("success: 0 + 0 / 0 (there were no datums to process "
                        "(the input matched no files))\n")


def test_a_broken_glob_is_one_line(cli):
    cli("put", "file", "data@master:/a", "-f", cli.file("a", "1"))
    spec = {**COPY, "input": {"pfs": {"repo": "data", "glob": "/[a"}}}
    p = cli("create", "pipeline", "-f", cli.spec(spec), ok=False)
    assert "/[a" in p.stderr
    [job] = cli.jobs()
    assert job["state"] == "failure" and job["reason"] in p.stderr


NO_DOCKER = ("import sys; sys.modules['docker'] = None; "  # as if the docker extra were not installed
             "from pachlite.cli import main; main()")


def test_container_mode_without_the_docker_sdk_is_one_line(cli):
    """--container without the Docker SDK says what to install, before any work: no traceback,
    no pipeline half-created, no failed job."""
    def pachlite_without_docker(*args):
        return subprocess.run([sys.executable, "-c", NO_DOCKER, *args], cwd=cli.root, env=cli.env,
                              capture_output=True, text=True, timeout=120)
    error = ("pachlite: error: container mode needs the Docker SDK; install it with "
             "pip install 'pachlite[docker]'\n")
    cli("put", "file", "data@master:/a", "-f", cli.file("a", "1"))
    spec = cli.spec({**COPY, "transform": {**COPY["transform"], "image": "alpine"}})
    p = pachlite_without_docker("create", "pipeline", "-f", spec, "--container")
    assert (p.returncode, p.stdout, p.stderr) == (1, "", error)
    assert cli.raw("list", "pipeline") == [] and cli.jobs() == []

    cli("create", "pipeline", "-f", spec)
    cli("put", "file", "data@master:/b", "-f", cli.file("b", "2"))
    for args in (["run", "--container"], ["update", "pipeline", "-f", spec, "--container"]):
        p = pachlite_without_docker(*args)
        assert (p.returncode, p.stdout, p.stderr) == (1, "", error)
    assert len(cli.jobs()) == 1
    # A dry run runs nothing, so it needs no Docker.
    p = pachlite_without_docker("run", "--container", "--dry-run")
    assert p.returncode == 0 and p.stdout.startswith("copy: would run 1, skip 1"), p.stderr


@pytest.mark.parametrize("name", ["run", "logs", "fsck", "gc", "generate", "deploy"])
def test_a_top_level_command_imports_only_its_own_verbs(name):
    """`pachlite run` starts once per Snakemake rule: looking it up imports pipeline.py and not
    the other noun modules (pachlite.cli.HOMES says where each top-level command lives)."""
    code = ("import sys; from pachlite.cli import HOMES, cli; "
            f"found = cli.get_command(None, {name!r}) is not None; "
            "print(found, HOMES.get(sys.argv[1]), "
            "*sorted(m for m in sys.modules if m.startswith('pachlite.cli.')))")
    found, home, *modules = subprocess.run([sys.executable, "-c", code, name], capture_output=True,
                                           text=True, check=True).stdout.split()
    assert found == "True"
    nouns = {m for m in modules if m.rsplit(".", 1)[1] not in ("groups", "output", "pretty", "raw")}
    assert nouns == {f"pachlite.cli.{home}"}


def test_interrupt_kills_the_running_datums_and_marks_the_job_killed(cli, tmp_path):
    cli("put", "file", "data@master:/", "-f", cli.file("a", "1"), "-f", cli.file("b", "2"))
    pids = tmp_path / "pids"
    slow = {**COPY, "transform": {"cmd": ["sh", "-c", f"echo $$ >> {pids}; sleep 30"]}}
    p = cli.popen("create", "pipeline", "-f", cli.spec(slow), "--workers", "2", text=True,
                  start_new_session=True)
    deadline = time.monotonic() + 20
    while (not pids.exists() or len(pids.read_text().split()) < 2) and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    os.killpg(p.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
    _, err = p.communicate(timeout=20)
    assert p.returncode == 1 and time.monotonic() - started < 10, err
    [job] = cli.jobs()
    assert job["state"] == "killed"
    for pid in pids.read_text().split():  # no user process outlives the job
        status = Path(f"/proc/{pid}/status")
        assert not status.exists() or "zombie" in status.read_text()
    cli("put", "file", "data@master:/a", "-f", cli.file("a", "1"))
    cli("update", "pipeline", "-f", cli.spec(COPY))  # the next run starts afresh
    assert cli.jobs()[0]["state"] == "success"
