"""Warm Python workers: a `python3 script.py` transform runs in one interpreter per worker, with
the same results, failures and logs as one process per datum (PACHLITE_WARM_WORKERS=0)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import contents, datum_paths, datums, logs, put
from pachlite.pps import pipeline as pl
from pachlite.pps.executors.jobdir import scratch_dir
from pachlite.pps.executors.warm import python_script

SCRIPT = '''\
import json, os, sys
seen = []                      # module globals are fresh for every datum
seen.append(os.environ["data"])
leak = os.environ.get("LEAK")  # a variable set by an earlier datum must not be seen
os.environ["LEAK"] = "yes"
name = os.path.basename(os.environ["data"])
text = open(os.environ["data"]).read()
print("datum", name)
if text == "exit3":
    sys.exit(3)
if text == "boom":
    raise ValueError("bad value in " + name)
if text == "stray":
    open(os.path.join(os.path.dirname(os.environ["data"]), "x"), "w").write("?")
with open(os.path.join(sys.argv[1], name), "w") as f:
    json.dump({"pid": os.getpid(), "seen": len(seen), "leak": leak, "argv0": sys.argv[0],
               "datum": os.environ["PACH_DATUM_ID"], "text": text}, f)
'''


@pytest.fixture
def pfs(pfs, tmp_path):
    pfs.create_repo("data")
    (tmp_path / "work.py").write_text(SCRIPT)
    return pfs


def job(pfs, tmp_path, workers=1, **spec):
    spec = {"pipeline": {"name": "work"}, "input": {"pfs": {"repo": "data", "glob": "/*"}},
            "transform": {"cmd": ["python3", "work.py", "/pfs/out"], **spec.pop("transform", {})},
            **spec}
    pl.create_pipeline(pfs, spec)
    [r] = pl.run(pfs, ["work"], workers=workers, cwd=str(tmp_path))
    return r.job


def outputs(pfs, commit) -> dict:
    return {p: json.loads(v) for p, v in contents(pfs, f"work@{commit}").items()}


def union_job(pfs, tmp_path, script: str) -> dict:
    """The outputs of `script` run over a union of `data` with itself (inputs `a` and `b`), on
    one worker: one interpreter sees datums of both inputs in turn."""
    pl.create_pipeline(pfs, {"pipeline": {"name": "work"},
                             "input": {"union": [{"pfs": {"repo": "data", "glob": "/*", "name": "a"}},
                                                 {"pfs": {"repo": "data", "glob": "/*", "name": "b"}}]},
                             "transform": {"cmd": ["python3", script, "/pfs/out"]}})
    [r] = pl.run(pfs, ["work"], workers=1, cwd=str(tmp_path))
    assert r.job.state == "success", r.job.reason
    return outputs(pfs, r.job.output_commit)


def test_python_script_recognises_plain_python_commands(tmp_path, monkeypatch):
    (tmp_path / "s.py").write_text("")
    cwd = str(tmp_path)
    assert python_script(["python3", "s.py", "x"], None, cwd) == "s.py"
    assert python_script([sys.executable, "s.py"], None, cwd) == "s.py"
    assert python_script(["python3", "s.py"], "input\n", cwd) is None      # stdin: a process each
    assert python_script(["python3", "-c", "pass"], None, cwd) is None
    assert python_script(["python3", "missing.py"], None, cwd) is None
    assert python_script(["bash", "s.py"], None, cwd) is None
    monkeypatch.setenv("PACHLITE_WARM_WORKERS", "0")
    assert python_script(["python3", "s.py"], None, cwd) is None


def test_one_interpreter_serves_every_datum_with_fresh_globals_and_environment(pfs, tmp_path):
    put(pfs, "data", {f"/f{i}": f"text {i}" for i in range(8)})
    j = job(pfs, tmp_path)
    assert (j.state, j.processed) == ("success", 8)
    out = outputs(pfs, j.output_commit)
    assert len({o["pid"] for o in out.values()}) == 1       # one process start for the job
    assert {o["seen"] for o in out.values()} == {1}         # no state carried between datums
    assert {o["leak"] for o in out.values()} == {None}      # nor environment
    assert {o["argv0"] for o in out.values()} == {"work.py"}
    assert len({o["datum"] for o in out.values()}) == 8
    assert not list(scratch_dir().glob(f"{j.id}-*"))              # every worker's /pfs is cleared


@pytest.mark.parametrize("workers", [1, 2])
def test_warm_and_per_process_commits_are_identical(pfs, tmp_path, monkeypatch, workers):
    put(pfs, "data", {f"/f{i}": f"text {i}" for i in range(6)})
    warm = outputs(pfs, job(pfs, tmp_path, workers).output_commit)
    monkeypatch.setenv("PACHLITE_WARM_WORKERS", "0")
    pl.delete_pipeline(pfs, "work")
    cold = outputs(pfs, job(pfs, tmp_path, workers).output_commit)
    assert len({o["pid"] for o in cold.values()}) == 6      # the per-datum mode, for contrast
    strip = lambda d: {p: {k: v for k, v in o.items() if k != "pid"} for p, o in d.items()}  # noqa: E731
    assert strip(warm) == strip(cold)


def test_exit_codes_exceptions_and_stray_files_fail_only_their_datum(pfs, tmp_path):
    put(pfs, "data", {"/a": "fine", "/b": "exit3", "/c": "boom", "/d": "stray"})
    j = job(pfs, tmp_path, datumTries=1)
    assert (j.state, j.processed, j.failed) == ("failure", 1, 3)
    rows = {datum_paths(r)[0]: r for r in datums(pfs, j)}
    assert rows["/b"]["reason"].startswith("command exited with code 3")
    assert rows["/c"]["reason"] == "command exited with code 1: ValueError: bad value in c"
    assert rows["/d"]["reason"].endswith("Read-only file system: '/pfs/data/x'")  # inputs are read-only
    log = logs(pfs, j, rows["/c"]["id"])
    assert log[0] == "datum c" and "Traceback" in "\n".join(log)  # stdout and stderr, this datum's only


def test_an_input_a_datum_tries_to_change_stays_as_committed_for_the_next(pfs, tmp_path):
    # The model is laid out once per worker and kept for every datum crossed with it: a datum
    # that tries to move or rewrite it must fail to, so the next datums still read the commit.
    pfs.create_repo("model")
    put(pfs, "model", {"/m": "v1"})
    put(pfs, "data", {"/a": "mv", "/b": "rewrite", "/c": "read", "/d": "read"})
    (tmp_path / "work.py").write_text("""\
import os, sys
m = os.path.join(os.environ["model"], "m")
text = open(os.environ["data"]).read()
try:
    if text == "mv":
        os.rename(m, m + ".old")
    elif text == "rewrite":
        open(m, "w").write("v2")
    tried = "changed it"
except OSError as e:
    tried = e.strerror
seen = sorted(os.listdir(os.environ["model"])), open(m).read()
open(os.path.join(sys.argv[1], os.path.basename(os.environ["data"])), "w").write(f"{tried} {seen}")
""")
    j = job(pfs, tmp_path, input={"cross": [{"pfs": {"repo": "data", "glob": "/*"}},
                                             {"pfs": {"repo": "model", "glob": "/"}}]})
    assert (j.state, j.processed) == ("success", 4)
    out = contents(pfs, f"work@{j.output_commit}")
    assert out["/a"] == out["/b"] == b"Read-only file system (['m'], 'v1')"
    assert out["/c"] == out["/d"] == b"changed it (['m'], 'v1')"


def test_accept_return_code_applies(pfs, tmp_path):
    put(pfs, "data", {"/a": "exit3"})
    j = job(pfs, tmp_path, transform={"acceptReturnCode": [3]})
    assert (j.state, j.processed) == ("success", 1)


def test_a_datum_that_kills_its_worker_fails_alone(pfs, tmp_path):
    (tmp_path / "work.py").write_text(SCRIPT.replace(
        'if text == "exit3":', 'if text == "die":\n    os._exit(9)\nif text == "exit3":'))
    put(pfs, "data", {"/a": "one", "/b": "die", "/c": "three"})
    j = job(pfs, tmp_path, datumTries=2)
    assert (j.state, j.processed, j.failed) == ("failure", 2, 1)
    assert "worker exited with code 9" in j.reason and "PACHLITE_WARM_WORKERS=0" in j.reason


def test_datum_timeout_kills_a_hung_datum_and_the_others_run(pfs, tmp_path):
    (tmp_path / "work.py").write_text(SCRIPT.replace(
        'if text == "exit3":', 'if text == "hang":\n    import time; time.sleep(60)\nif text == "exit3":'))
    put(pfs, "data", {"/a": "one", "/b": "hang", "/c": "three"})
    j = job(pfs, tmp_path, datumTries=1, datumTimeout="1s")
    assert (j.state, j.processed, j.failed) == ("failure", 2, 1)
    assert "timed out after 1s" in j.reason


@pytest.mark.parametrize("warm", ["1", "0"])
def test_progress_counts_every_datum_once(pfs, tmp_path, monkeypatch, warm):
    monkeypatch.setenv("PACHLITE_WARM_WORKERS", warm)
    put(pfs, "data", {f"/f{i}": f"text {i}" for i in range(7)})
    pl.create_pipeline(pfs, {"pipeline": {"name": "work"},
                             "input": {"pfs": {"repo": "data", "glob": "/*"}},
                             "transform": {"cmd": ["python3", "work.py", "/pfs/out"]}})
    seen = []
    [r] = pl.run(pfs, ["work"], workers=2, cwd=str(tmp_path),
                 progress=lambda name, done, total: seen.append((name, done, total)))
    assert r.job.processed == 7
    assert seen[0] == ("work", 0, 7) and seen[-1] == ("work", 7, 7)
    assert [d for _, d, _ in seen] == sorted(d for _, d, _ in seen)


def test_a_datum_that_kills_its_worker_does_not_take_its_batch_with_it(pfs, tmp_path):
    # 40 datums on one worker travel in batches of 10, two at a time; the killer's batch-mates
    # and the batch queued behind it run again without losing a try.
    (tmp_path / "work.py").write_text(SCRIPT.replace(
        'if text == "exit3":', 'if text == "die":\n    os._exit(9)\nif text == "exit3":'))
    put(pfs, "data", {f"/f{i:02d}": "die" if i == 13 else f"text {i}" for i in range(40)})
    j = job(pfs, tmp_path, datumTries=1)
    assert (j.state, j.processed, j.failed) == ("failure", 39, 1)
    assert "worker exited with code 9" in j.reason
    failed = [datum_paths(r)[0] for r in datums(pfs, j) if r["state"] == "failed"]
    assert failed == ["/f13"]


def test_a_variable_a_datum_removes_or_changes_is_the_workers_again_for_the_next(pfs, tmp_path):
    # One interpreter runs the datums in path order: /a removes a variable of the worker's, /c
    # changes it, /e reloads os (a new os.environ); the datum after each must see the worker's
    # value and its own input's, in Python and in a child process.
    (tmp_path / "env.py").write_text(
        "import importlib, json, os, subprocess, sys\n"
        "name = os.path.basename(os.environ['data'])\n"
        "seen = [os.environ.get('PPS_PIPELINE_NAME'), subprocess.run(\n"
        "    ['sh', '-c', 'echo ${PPS_PIPELINE_NAME:-none} ${data##*/}'], capture_output=True,\n"
        "    text=True).stdout.strip()]\n"
        "if name == 'a':\n"
        "    del os.environ['PPS_PIPELINE_NAME']\n"
        "if name == 'c':\n"
        "    os.environ['PPS_PIPELINE_NAME'] = 'changed'\n"
        "if name == 'e':\n"
        "    importlib.reload(os)\n"
        "seen.append(os.path.basename(os.environ.get('data', '')))  # (after a reload too)\n"
        "json.dump(seen, open(os.path.join(sys.argv[1], name), 'w'))\n")
    put(pfs, "data", {f"/{n}": n for n in "abcdef"})
    j = job(pfs, tmp_path, transform={"cmd": ["python3", "env.py", "/pfs/out"]})
    assert j.state == "success", j.reason
    assert outputs(pfs, j.output_commit) == {f"/{n}": ["work", f"work {n}", n] for n in "abcdef"}


def test_a_datum_sees_only_its_own_inputs_variables(pfs, tmp_path):
    # A union's datums come from one input each: a datum of `b` must not see the `a` of the
    # datum that ran before it in the same interpreter.
    (tmp_path / "env.py").write_text(
        "import json, os, sys\n"
        "seen = {k: os.environ.get(k) for k in ('a', 'b')}\n"
        "name = os.path.basename(seen['a'] or seen['b']) + ('-a' if seen['a'] else '-b')\n"
        "json.dump(seen, open(os.path.join(sys.argv[1], name), 'w'))\n")
    put(pfs, "data", {"/x": "1", "/y": "2"})
    got = union_job(pfs, tmp_path, "env.py")
    assert sorted(got) == ["/x-a", "/x-b", "/y-a", "/y-b"]
    assert all((v["a"] is None) != (v["b"] is None) for v in got.values()), got


def test_a_datums_child_processes_see_its_own_variables(pfs, tmp_path):
    # The C environment a child inherits is set with the datum's variables, and a variable an
    # earlier datum of the same interpreter had (the other input of a union) is gone from it.
    (tmp_path / "child.py").write_text(
        "import json, os, subprocess, sys\n"
        "seen = subprocess.run(['sh', '-c', 'echo \"${a:-}|${b:-}|$PACH_DATUM_ID\"'],\n"
        "                      capture_output=True, text=True, check=True).stdout.strip()\n"
        "mine = '|'.join(os.environ.get(k, '') for k in ('a', 'b', 'PACH_DATUM_ID'))\n"
        "name = os.path.basename(os.environ.get('a') or os.environ['b'])\n"
        "name += '-a' if 'a' in os.environ else '-b'\n"
        "json.dump({'child': seen, 'python': mine, 'pid': os.getpid()},\n"
        "          open(os.path.join(sys.argv[1], name), 'w'))\n")
    put(pfs, "data", {f"/f{i}": str(i) for i in range(4)})
    got = union_job(pfs, tmp_path, "child.py")
    assert len(got) == 8 and len({o["pid"] for o in got.values()}) == 1
    for path, o in got.items():
        assert o["child"] == o["python"], path
        a, b, datum = o["child"].split("|")
        mine, other = (a, b) if path.endswith("-a") else (b, a)
        assert mine.endswith("/" + path[1:-2]) and other == "", path
        assert len(datum) == 64
    assert len({o["child"].split("|")[2] for o in got.values()}) == 8


def test_a_worker_does_not_grow_with_the_values_its_datums_set(tmp_path):
    # os.putenv is setenv(3), whose values glibc keeps for good: 150,000 datums of two new
    # values each grew a worker by ~27 MB that way. The C side must still see each datum's.
    code = (
        "import os, subprocess\n"
        "from pachlite.pps.executors.warm import DatumEnviron\n"
        "env = DatumEnviron(dict(os.environ), '/pfs')\n"
        "def datum(i):\n"
        "    env.enter({'a': '/pfs/a/%07d.json' % i, 'PACH_DATUM_ID': '%064x' % i})\n"
        "def rss():  # resident KB now (ru_maxrss starts at the parent's after an exec)\n"
        "    return int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE') // 1024\n"
        "for i in range(1000):\n"
        "    datum(i)\n"
        "before = rss()\n"
        "for i in range(150000):\n"
        "    datum(i)\n"
        "grew = rss() - before\n"
        "env.enter({'b': 'x'})\n"
        "child = subprocess.run(['sh', '-c', 'echo \"${a:-none} $b\"'], capture_output=True,\n"
        "                       text=True).stdout.split()\n"
        "print(grew, *child, os.environ.get('a', 'none'), os.environ['b'])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=tmp_path).stdout.split()
    assert int(out[0]) < 4 * 1024, f"grew by {out[0]} KB"
    assert out[1:] == ["none", "x", "none", "x"]


def _workers_alive(script) -> list[str]:
    alive = []
    for p in Path("/proc").iterdir():
        try:
            cmd = (p / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(b"pachlite.pps.executors.warm" in c for c in cmd) and str(script).encode() in cmd:
            alive.append(p.name)
    return alive


def test_the_worker_started_with_a_job_ends_with_it_even_with_nothing_to_run(pfs, tmp_path):
    # A job starts its first warm interpreter while it plans; a job that then has no datum to
    # run leaves no interpreter and no scratch folder behind, and ran none of the script.
    (tmp_path / "work.py").write_text("open('ran', 'w').write('the script ran')\n")
    put(pfs, "data", {"/a": "one"})
    j = job(pfs, tmp_path, input={"pfs": {"repo": "data", "glob": "/nothing-matches"}})
    assert (j.state, j.total) == ("success", 0)
    assert not (tmp_path / "ran").exists()
    assert not list(scratch_dir().glob(f"{j.id}-*"))
    assert _workers_alive("work.py") == []


def test_a_script_named_as_a_standard_module_runs(pfs, tmp_path):
    # `python3 copy.py` works on a cluster; the warm worker's own imports (which use the standard
    # `copy`) must not pick up the user's copy.py from the working folder instead.
    (tmp_path / "copy.py").write_text(
        "import os, shutil\n"
        "p = os.environ['data']\n"
        "shutil.copyfile(p, os.path.join('/pfs/out', os.path.basename(p)))\n")
    put(pfs, "data", {"/a": "one", "/b": "two"})
    j = job(pfs, tmp_path, transform={"cmd": ["python3", "copy.py"]})
    assert (j.state, j.reason) == ("success", "")
    assert contents(pfs, f"work@{j.output_commit}") == {"/a": b"one", "/b": b"two"}


@pytest.mark.parametrize("warm", ["1", "0"])
def test_a_module_beside_the_script_named_as_a_standard_one_is_the_scripts(pfs, tmp_path,
                                                                          monkeypatch, warm):
    # `python3 main.py` imports the queue.py beside it, not the standard queue; so must a warm
    # worker, which imported the standard one for itself.
    monkeypatch.setenv("PACHLITE_WARM_WORKERS", warm)
    (tmp_path / "main.py").write_text(
        "import os, queue\n"
        "p = os.environ['data']\n"
        "open(os.path.join('/pfs/out', os.path.basename(p)), 'w').write(queue.MINE)\n")
    (tmp_path / "queue.py").write_text("MINE = 'mine'\n")
    put(pfs, "data", {"/a": "one", "/b": "two"})
    j = job(pfs, tmp_path, transform={"cmd": ["python3", "main.py"]})
    assert (j.state, j.reason) == ("success", "")
    assert contents(pfs, f"work@{j.output_commit}") == {"/a": b"mine", "/b": b"mine"}


SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON), reason=f"needs {SYSTEM_PYTHON}")
def test_an_interpreter_with_safe_path_serves_warm(pfs, tmp_path, monkeypatch):
    # PYTHONSAFEPATH: `-c` puts nothing before PYTHONPATH on sys.path, whose first entry is the
    # pachlite a worker imports (an interpreter that has none of its own)
    monkeypatch.setenv("PYTHONSAFEPATH", "1")
    (tmp_path / "s.py").write_text(
        "import os, shutil\n"
        "p = os.environ['data']\n"
        "shutil.copyfile(p, os.path.join('/pfs/out', os.path.basename(p)))\n")
    put(pfs, "data", {"/a": "one", "/b": "two"})
    j = job(pfs, tmp_path, transform={"cmd": [SYSTEM_PYTHON, "s.py"]})
    assert (j.state, j.reason) == ("success", "")
    assert contents(pfs, f"work@{j.output_commit}") == {"/a": b"one", "/b": b"two"}
