"""Pipelines: create and update (salt, reprocess), run in DAG order, unrunnable downstream of a
failure, --dry-run, bad input, and two of Pachyderm's 2.x examples end to end.

The examples are examples/joins (inner join) and examples/group (lab results by patient) from
reference/pachyderm/examples-2x, with data laid out as their READMEs describe.
"""

import contextlib
import json
import os
import random
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from helpers import DATA, PACHLITE, contents, datum_paths, datums, inspect_job, jobs, put
from pachlite.errors import Conflict, NotFound, SpecError
from pachlite.pfs.address import Address
from pachlite.pps import pipeline as pl
from pachlite.pps.executors.jobdir import scratch_dir
from pachlite.pps.spec import load_specs
from pachlite.store import fsck

COPY = ["sh", "-c", "cp -r /pfs/data/* /pfs/out/"]


def content(pfs, repo: str) -> dict[str, str]:
    return contents(pfs, repo, text=True)


def spec(name: str, repo: str, cmd, glob: str = "/*", **extra) -> dict:
    return {"pipeline": {"name": name}, "input": {"pfs": {"repo": repo, "glob": glob}},
            "transform": {"cmd": cmd}, **extra}


def ran(results) -> dict:
    return {r.pipeline: r for r in results}


def state(pfs) -> tuple:
    """Everything a run could change: pipelines, jobs and their datums, branches and commits."""
    return (pl.list_pipeline(pfs), [(j, datums(pfs, j)) for j in jobs(pfs)],
            [(pfs.list_branch(r.name), pfs.list_commit(r.name)) for r in pfs.list_repo()])


# ---- create, update, delete ------------------------------------------------------------------

def test_update_keeps_the_salt_so_datums_stay_skipped(pfs):
    pfs.create_repo("data")
    put(pfs, "data", {"/a": "1", "/b": "2"})
    first = pl.create_pipeline(pfs, spec("copy", "data", COPY))
    pl.run(pfs)
    updated = pl.create_pipeline(pfs, spec("copy", "data", ["sh", "-c", "echo new > /pfs/out/x"]),
                                 update=True)
    assert (updated.version, updated.salt) == (2, first.salt)
    [r] = pl.run(pfs)  # a new pipeline version makes a job even with no new input commit
    assert (r.action, r.job.processed, r.job.skipped) == ("ran", 0, 2)
    assert content(pfs, "copy") == {"/a": "1", "/b": "2"}  # the old outputs are kept

    name_only = ["sh", "-c", "basename $data > /pfs/out/$(basename $data)"]
    again = pl.create_pipeline(pfs, spec("copy", "data", name_only), update=True, reprocess=True)
    assert again.salt != first.salt and again.version == 3
    [r] = pl.run(pfs)
    assert (r.job.processed, r.job.skipped) == (2, 0)
    assert content(pfs, "copy") == {"/a": "a\n", "/b": "b\n"}


def test_update_with_the_same_spec_changes_nothing(pfs):
    pfs.create_repo("data")
    first = pl.create_pipeline(pfs, spec("copy", "data", COPY))
    same = pl.create_pipeline(pfs, spec("copy", "data", COPY), update=True)
    assert (same.version, same.salt) == (first.version, first.salt)


@pytest.mark.parametrize("raw,error,message", [
    (spec("copy", "nope", COPY), NotFound,
     "<spec>: pipeline copy reads repo nope, which does not exist; create it with "
     "'pachlite create repo nope' and put data in it"),
    ({"pipeline": {"name": "copy"}, "input": {"pfs": {"repo": "data", "glob": "/*"}}}, SpecError,
     "the pipeline has no transform"),
    (spec("copy", "data", COPY, datumTimeout="soon"), SpecError,
     "`datumTimeout` must be a duration in seconds"),
    (spec("data", "data", COPY), SpecError, "pipeline 'data' reads its own output repo 'data'"),
])
def test_bad_specs_are_refused_with_the_field_and_fix(pfs, raw, error, message):
    pfs.create_repo("data")
    with pytest.raises(error) as e:
        pl.create_pipeline(pfs, raw)
    assert message in str(e.value)
    assert pl.list_pipeline(pfs) == []


def test_create_refuses_an_existing_pipeline_and_a_user_repo_of_its_name(pfs):
    pfs.create_repo("data")
    pfs.create_repo("taken")
    pl.create_pipeline(pfs, spec("copy", "data", COPY))
    with pytest.raises(Conflict, match="pipeline copy already exists"):
        pl.create_pipeline(pfs, spec("copy", "data", COPY))
    with pytest.raises(Conflict, match="repo taken already exists and is not a pipeline's output"):
        pl.create_pipeline(pfs, spec("taken", "data", COPY))


def test_update_refuses_a_cycle_through_another_pipeline(pfs):
    pfs.create_repo("data")
    pl.create_pipeline(pfs, spec("a", "data", COPY))
    pl.create_pipeline(pfs, spec("b", "a", COPY))
    with pytest.raises(SpecError, match="pipeline a would read its own output through its inputs"):
        pl.create_pipeline(pfs, spec("a", "b", COPY), update=True)
    assert pl.inspect_pipeline(pfs, "a").inputs == ["data"]


def test_delete_pipeline_refuses_while_downstream_reads_it(pfs):
    pfs.create_repo("data")
    put(pfs, "data", {"/a": "1"})
    pl.create_pipeline(pfs, spec("up", "data", COPY))
    pl.create_pipeline(pfs, spec("down", "up", ["sh", "-c", "cp -r /pfs/up/* /pfs/out/"]))
    pl.run(pfs)
    with pytest.raises(Conflict, match="pipelines down read the output of pipeline up"):
        pl.delete_pipeline(pfs, "up")
    pl.delete_pipeline(pfs, "down")
    pl.delete_pipeline(pfs, "up")
    assert pl.list_pipeline(pfs) == [] and [r.name for r in pfs.list_repo()] == ["data"]
    assert jobs(pfs) == []


def test_a_pipeline_waits_for_its_first_input_commit(pfs):
    pfs.create_repo("data")
    pl.create_pipeline(pfs, spec("copy", "data", COPY))
    [r] = pl.run(pfs)
    assert (r.action, r.detail) == ("waiting", "input data@master has no commits yet")


# ---- DAG -------------------------------------------------------------------------------------

def test_pipelines_run_in_dag_order_with_transitive_provenance(pfs):
    pfs.create_repo("data")
    data_commit = put(pfs, "data", {"/a": "1"}).id
    # "down" sorts before "up": the run order comes from the inputs, not from the names.
    pl.create_pipeline(pfs, spec("up", "data", COPY))
    pl.create_pipeline(pfs, spec("down", "up", ["sh", "-c", "cat /pfs/up/* > /pfs/out/all"]))
    results = pl.run(pfs)
    assert [(r.pipeline, r.action) for r in results] == [("up", "ran"), ("down", "ran")]
    down = pfs.resolve(Address("down", "master"))
    up = results[0].job.output_commit
    assert {c for _, _, c in down.provenance} == {up, data_commit}
    assert content(pfs, "down") == {"/all": "1"}


def test_failure_makes_downstream_unrunnable_and_a_fix_reprocesses_only_it(pfs):
    pfs.create_repo("data")
    put(pfs, "data", {"/a": "ok", "/b": "ok"})
    pl.create_pipeline(pfs, spec("check", "data", ["sh", "-c", "grep -q ok $data && cp $data /pfs/out/"],
                                 datumTries=1))
    pl.create_pipeline(pfs, spec("down", "check", ["sh", "-c", "cat /pfs/check/* > /pfs/out/all"],
                                 glob="/"))
    first = ran(pl.run(pfs))
    good_head = first["down"].job.output_commit

    put(pfs, "data", {"/b": "bad"})
    second = ran(pl.run(pfs))
    failed = second["check"].job
    [bad] = [d["id"] for d in datums(pfs, failed) if d["state"] == "failed"]
    assert (failed.state, failed.reason) == ("failure", f"datum {bad} failed: command exited with code 1")
    assert (failed.processed, failed.skipped, failed.failed) == (0, 1, 1)
    assert second["down"].action == "unrunnable"
    assert second["down"].job.state == "unrunnable"
    assert second["down"].job.reason == ("unrunnable because the following upstream pipelines "
                                         "failed: check")
    # As pachd's FinishJob: both output commits are the commit set's, finished with the reason.
    for repo, job in (("check", failed), ("down", second["down"].job)):
        head = pfs.resolve(Address(repo, "master"))
        assert (head.id, head.error) == (failed.id, job.reason)
        with pytest.raises(Conflict, match=f"commit {head.id} finished with an error"):
            pfs.list_file(Address(repo, "master", path="/"))
    assert pfs.resolve(Address("down", "master", ancestry=1)).key == good_head  # the last good
    assert contents(pfs, "check@master^", text=True) == {"/a": "ok", "/b": "ok"}

    third = ran(pl.run(pfs))  # nothing changed: no new jobs, the same failure said again
    assert {n: r.action for n, r in third.items()} == {"check": "failed", "down": "failed"}
    assert third["check"].job.id == failed.id and f"restart datum check@{failed.id}" in third["check"].detail

    put(pfs, "data", {"/b": "ok again"})
    fixed = ran(pl.run(pfs))
    job = fixed["check"].job
    assert (job.state, job.processed, job.skipped) == ("success", 1, 1)
    assert fixed["down"].job.state == "success"
    assert content(pfs, "down") == {"/all": "okok again"}


# ---- code, failures and retries -------------------------------------------------------------

def upper(tmp_path: Path) -> list[str]:
    """A transform running a script of tmp_path that imports a module beside it."""
    (tmp_path / "lib.py").write_text("def f(s):\n    return s.upper()\n")
    (tmp_path / "up.py").write_text(
        "import os, sys\nfrom lib import f\nsrc, out = sys.argv[1:]\nfor n in os.listdir(src):\n"
        "    open(f'{out}/{n}', 'w').write(f(open(f'{src}/{n}').read()))\n")
    return ["python3", "up.py", "/pfs/data", "/pfs/out"]


def test_edited_code_reprocesses_the_pipeline_and_unchanged_code_does_not(pfs, tmp_path):
    pfs.create_repo("data")
    put(pfs, "data", {"/a": "x", "/b": "y"})
    cwd = str(tmp_path)
    pl.create_pipeline(pfs, spec("up", "data", upper(tmp_path)), cwd=cwd)
    pl.create_pipeline(pfs, spec("down", "up", ["sh", "-c", "cp /pfs/up/* /pfs/out/"]), cwd=cwd)
    ran(pl.run(pfs, cwd=cwd))
    assert [r.action for r in pl.run(pfs, cwd=cwd)] == ["up to date", "up to date"]
    salt = pl.inspect_pipeline(pfs, "up").salt

    (tmp_path / "lib.py").write_text("def f(s):\n    return s.upper() + '!'\n")  # an imported module
    [dry, _] = pl.run(pfs, cwd=cwd, dry_run=True)
    assert (dry.plan.count("run"), dry.detail) == (2, "a new salt (changed code, or a reprocess)")
    assert pl.inspect_pipeline(pfs, "up").salt == salt  # a dry run changes nothing
    again = ran(pl.run(pfs, cwd=cwd))
    up = again["up"].job
    assert (up.processed, up.skipped) == (2, 0)  # every datum, as --reprocess with a new image
    assert pl.inspect_pipeline(pfs, "up").salt != salt
    assert (again["down"].job.processed, again["down"].job.skipped) == (2, 0)  # its inputs changed
    assert content(pfs, "down") == {"/a": "X!", "/b": "Y!"}

    (tmp_path / "lib.py").write_text("def f(s):\n    return s.upper() + '!'  # same output\n")
    third = ran(pl.run(pfs, cwd=cwd))
    assert (third["up"].job.processed, third["down"].job.processed) == (2, 0)  # the cascade stops
    assert third["down"].job.skipped == 2


def test_reprocess_runs_every_datum_again(pfs):
    pfs.create_repo("data")
    put(pfs, "data", {"/a": "x", "/b": "y"})
    pl.create_pipeline(pfs, spec("copy", "data", COPY))
    pl.run(pfs)
    [r] = pl.run(pfs, reprocess={"copy"})
    assert (r.action, r.job.processed, r.job.skipped) == ("ran", 2, 0)


def test_a_failed_job_is_not_run_again_until_its_code_changes_or_a_retry(pfs, tmp_path):
    pfs.create_repo("data")
    put(pfs, "data", {"/a": "x"})
    cwd = str(tmp_path)
    (tmp_path / "flag").write_text("bad")
    check = ["sh", "-c", "test \"$(cat flag)\" = good && cp /pfs/data/* /pfs/out/"]
    pl.create_pipeline(pfs, spec("copy", "data", check, datumTries=1,
                                 metadata={"annotations": {"pachlite.io/code": "flag"}}), cwd=cwd)
    [first] = pl.run(pfs, cwd=cwd)
    assert first.job.state == "failure"
    assert first.detail.endswith(f"'pachlite restart datum copy@{first.job.id} /a'")
    [again] = pl.run(pfs, cwd=cwd)
    assert (again.action, again.job.id) == ("failed", first.job.id)  # no new job
    [retried] = pl.run(pfs, cwd=cwd, retry=True)  # as it is: fails again, in a new job
    assert retried.action == "ran" and retried.job.id != first.job.id
    (tmp_path / "flag").write_text("good")  # the fix
    [fixed] = pl.run(pfs, cwd=cwd)
    assert (fixed.job.state, fixed.job.processed) == ("success", 1)


def test_dry_run_names_the_datums_it_retries(pfs):
    pfs.create_repo("data")
    put(pfs, "data", {"/a": "ok", "/b": "ok"})
    pl.create_pipeline(pfs, spec("check", "data", ["sh", "-c", "grep -q ok /pfs/data/* && cp /pfs/data/* /pfs/out/"],
                                 datumTries=1))
    pl.run(pfs)
    put(pfs, "data", {"/a": "bad"})
    [failed] = pl.run(pfs)
    assert failed.job.state == "failure"
    [still] = pl.run(pfs, dry_run=True)
    assert still.action == "failed"  # nothing changed since: a run would not run it
    put(pfs, "data", {"/c": "ok"})
    [r] = pl.run(pfs, dry_run=True)
    steps = {s.datum.inputs[0].path: s for s in r.plan.steps}
    assert (steps["/a"].action, steps["/a"].retry) == ("run", failed.job.id)
    assert (steps["/c"].retry, steps["/b"].action) == ("", "skip")


# ---- dry run ---------------------------------------------------------------------------------

def test_dry_run_plans_without_changing_anything(pfs):
    pfs.create_repo("data")
    put(pfs, "data", {"/keep": "1", "/change": "2", "/drop": "3"})
    pl.create_pipeline(pfs, spec("copy", "data", COPY))
    [first] = pl.run(pfs)
    c = pfs.start_commit("data")
    pfs.delete_file(Address("data", "master", path="/drop"))
    put(pfs, "data", {"/change": "22", "/new": "4"})
    pfs.finish_commit(Address("data", commit=c.id))
    before = state(pfs)
    [r] = pl.run(pfs, dry_run=True)
    assert state(pfs) == before
    assert r.action == "planned"
    steps = {(s.datum.inputs[0].path if s.datum else s.base.outputs[0][0]): (s.action, s.reason)
             for s in r.plan.steps}
    assert steps == {
        "/keep": ("skip", f"unchanged since job {first.job.id}"),
        "/change": ("run", "input or pipeline changed"),
        "/new": ("run", "new datum"),
        "/drop": ("delete", "datum no longer in the input; outputs removed")}
    [real] = pl.run(pfs)
    assert (real.job.processed, real.job.skipped) == (2, 1)
    assert content(pfs, "copy") == {"/keep": "1", "/change": "22", "/new": "4"}


# ---- kills -------------------------------------------------------------------------------------

def sleeping(marker: str) -> list[int]:
    """The live processes whose command is `sleep <marker>` (a marker no other test uses)."""
    found = []
    for d in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if d.name.isdigit() and (d / "cmdline").read_bytes() == f"sleep\0{marker}\0".encode():
                found.append(int(d.name))
    return found


def wait_for(condition, what: str, seconds: float = 30) -> None:
    """Wait until condition() holds (a deadline for a hang, not a measure of speed)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what} after {seconds:g}s"
        time.sleep(0.05)


def blocking(tmp_path, then: str, only: str = "") -> tuple[list[str], Path, str]:
    """A command that, while tmp_path/block exists (for the datum whose input is `only`, if
    given), says it started and sleeps in a grandchild (`; true` keeps sh as its parent), then
    runs `then`. → (cmd, the started file, the sleep's marker)."""
    started, block = tmp_path / "started", tmp_path / "block"
    marker = f"{300 + random.random():.6f}"
    which = f'[ "$(basename $data)" = {only} ] && ' if only else ""
    block.touch()
    return ["sh", "-c", f"{which}[ -e {block} ] && {{ touch {started}; sleep {marker}; true; }}; {then}"], \
        started, marker


def start_run(pfs, tmp_path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([str(PACHLITE), "run", *args], cwd=tmp_path, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PACHLITE_STORE": str(pfs.store.root)})


def job_folders(job_id: str) -> list[Path]:
    return list(scratch_dir().glob(f"{job_id}-*"))


def test_kill_9_of_a_run_kills_its_user_code_and_the_next_run_cleans_up(pfs, tmp_path):
    pfs.create_repo("data")
    put(pfs, "data", {"/a": "1"})
    cmd, started, marker = blocking(tmp_path, "cp -r /pfs/data/* /pfs/out/")
    pl.create_pipeline(pfs, spec("copy", "data", cmd))
    p = start_run(pfs, tmp_path, "copy")
    wait_for(started.exists, "the datum to start")
    assert sleeping(marker)
    assert jobs(pfs, "copy")[0]["state"] == "running"  # its process holds the pipeline's lock
    p.kill()  # kill -9 mid-job: the process leaves its job's record running
    p.wait()
    wait_for(lambda: not sleeping(marker), "the datum's sleep to be killed", 10)
    [dead] = jobs(pfs, "copy")  # shown killed at once: nobody holds the pipeline's lock
    assert (dead["state"], dead["reason"]) == ("killed", "the pachlite process running this job was stopped")
    assert job_folders(dead["id"])  # the killed process could not remove it; the next run does

    (tmp_path / "block").unlink()
    [again] = pl.run(pfs)
    assert again.action == "ran" and again.job.state == "success"
    assert content(pfs, "copy") == {"/a": "1"}
    old = inspect_job(pfs, "copy", dead["id"])
    assert (old["state"], old["reason"]) == ("killed", "the pachlite process running this job was stopped")
    assert job_folders(dead["id"]) == []


def test_sigterm_of_a_run_ends_its_job_as_killed(pfs, tmp_path):
    pfs.create_repo("data")
    put(pfs, "data", {"/a": "1"})
    cmd, started, marker = blocking(tmp_path, "cp -r /pfs/data/* /pfs/out/")
    pl.create_pipeline(pfs, spec("copy", "data", cmd))
    p = start_run(pfs, tmp_path, "copy")
    wait_for(started.exists, "the datum to start")
    p.terminate()
    _, err = p.communicate(timeout=30)
    assert (p.returncode, err.splitlines()[-1]) == (143, (
        "pachlite: error: stopped by SIGTERM; the job was marked killed and keeps the datums it "
        "finished; run 'pachlite run' to finish it")), err
    assert sleeping(marker) == []
    [dead] = jobs(pfs, "copy")
    assert (dead["state"], dead["reason"]) == ("killed", "the job was stopped (SIGTERM)")
    assert job_folders(dead["id"]) == []


def test_a_background_child_does_not_hold_its_datum(pfs):
    pfs.create_repo("data")
    put(pfs, "data", {"/a": "1", "/b": "2"})
    marker = f"{300 + random.random():.6f}"
    # Without the fix the datum waits for the sleep: the timeout then fails it.
    pl.create_pipeline(pfs, spec("bg", "data", [
        "sh", "-c", f"sleep {marker} & echo done > /pfs/out/$(basename $data)"],
        datumTimeout="60s"))
    [r] = pl.run(pfs)
    assert r.job.state == "success", r.job.reason
    assert content(pfs, "bg") == {"/a": "done\n", "/b": "done\n"}
    wait_for(lambda: not sleeping(marker), "the left-behind sleeps to be killed", 10)


def test_a_killed_jobs_finished_datums_are_not_run_again(pfs, tmp_path, open_pfs):
    files = {f"/a{i:02}": f"content {i}\n" for i in range(30)}
    ledger = tmp_path / "ledger"  # every datum run, in order
    copy = f"echo $(basename $data) >> {ledger}; cp $data /pfs/out/"

    def make(pfs, cmd) -> None:
        pfs.create_repo("data")
        put(pfs, "data", files)
        pl.create_pipeline(pfs, spec("copy", "data", cmd))

    cmd, started, marker = blocking(tmp_path, copy, only="a20")
    make(pfs, cmd)
    p = start_run(pfs, tmp_path, "copy", "--workers", "1")
    wait_for(started.exists, "datum a20 to start")
    [running] = jobs(pfs, "copy")
    # The 20 datums before a20 finished; their records reach the store within a second or so.
    wait_for(lambda: len(datums(pfs, running)) == 20, "the finished datums' records")
    p.kill()
    p.wait()
    assert ledger.read_text().split() == [f"a{i:02}" for i in range(20)]

    (tmp_path / "block").unlink()
    [planned] = pl.run(pfs, dry_run=True)
    steps = [(s.datum.inputs[0].path, s.action, s.reason) for s in planned.plan.steps]
    assert steps == [(f"/a{i:02}", "skip", f"finished in killed job {running['id']}") for i in range(20)] \
        + [(f"/a{i:02}", "run", "new datum") for i in range(20, 30)]

    [r] = pl.run(pfs)
    assert (r.job.state, r.job.processed, r.job.skipped) == ("success", 10, 20)
    assert ledger.read_text().split()[20:] == [f"a{i:02}" for i in range(20, 30)]
    assert fsck(pfs.store) == []

    clean = open_pfs(tmp_path / "clean")
    make(clean, ["sh", "-c", "cp $data /pfs/out/"])
    [unbroken] = pl.run(clean)
    assert contents(pfs, "copy") == contents(clean, "copy") == {p: v.encode() for p, v in files.items()}

    # The resumed job is a base like any other: only a new datum runs next.
    put(pfs, "data", {"/a30": "30\n"})
    [nxt] = pl.run(pfs)
    assert (nxt.job.state, nxt.job.processed, nxt.job.skipped) == ("success", 1, 30)
    assert ledger.read_text().split()[30:] == ["a30"]
    assert content(pfs, "copy") == {**files, "/a30": "30\n"}
    assert fsck(pfs.store) == []


def test_delete_pipeline_stops_its_running_job(pfs, tmp_path):
    pfs.create_repo("data")
    put(pfs, "data", {"/a": "1"})
    cmd, started, marker = blocking(tmp_path, "cp -r /pfs/data/* /pfs/out/")
    pl.create_pipeline(pfs, spec("copy", "data", cmd))
    p = start_run(pfs, tmp_path, "copy")
    wait_for(started.exists, "the datum to start")
    [running] = jobs(pfs, "copy")

    pl.delete_pipeline(pfs, "copy")  # as pachd: the job is killed, then the pipeline deleted
    _, err = p.communicate(timeout=30)
    assert p.returncode != 0 and "Traceback" not in err, err
    assert sleeping(marker) == []
    assert job_folders(running["id"]) == []
    assert [r.name for r in pfs.list_repo()] == ["data"]
    assert fsck(pfs.store) == []

    (tmp_path / "block").unlink()
    pl.create_pipeline(pfs, spec("copy", "data", cmd))  # the name is free again
    [r] = pl.run(pfs)
    assert r.job.state == "success"
    assert content(pfs, "copy") == {"/a": "1"}


# ---- Pachyderm's examples, end to end --------------------------------------------------------

STORES = {1: ("02108", "Beacon St."), 2: ("90210", "Rodeo Dr."), 3: ("02108", "Tremont St."),
          4: ("10001", "Broadway")}
PURCHASES = {"/ORDERW080520_STOREID1.txt": "2 apples\n", "/ORDERW080521_STOREID1.txt": "1 pear\n",
             "/ORDERW078929_STOREID2.txt": "3 figs\n", "/ORDERW598471_STOREID3.txt": "1 plum\n",
             "/ORDERW000001_STOREID9.txt": "no such store\n"}


def test_inner_join_example(pfs, tmp_path):
    # tests/data/inner_join.pipeline.json is examples-2x/inner_join.pipeline.json with only
    # transform.cmd changed: the image's inner/main.py is replaced by tests/data/inner_join.py.
    pfs.create_repo("stores")
    pfs.create_repo("purchases")
    put(pfs, "stores", {f"/STOREID{i}.txt": json.dumps(
        {"storeid": str(i), "name": name, "address": {"zipcode": z, "country": "US"}})
        for i, (z, name) in STORES.items()})
    put(pfs, "purchases", PURCHASES)
    [raw] = load_specs(DATA / "inner_join.pipeline.json")
    pl.create_pipeline(pfs, raw)
    [r] = pl.run(pfs, cwd=str(DATA))
    job = r.job
    assert job.state == "success", job.reason
    # Inner join: a datum per (store, purchase) with the same store ID; store 4 has no
    # purchase and store 9 no store file, so neither appears.
    pairs = sorted(tuple(datum_paths(d)) for d in datums(pfs, job))
    assert pairs == [("/STOREID1.txt", "/ORDERW080520_STOREID1.txt"),
                     ("/STOREID1.txt", "/ORDERW080521_STOREID1.txt"),
                     ("/STOREID2.txt", "/ORDERW078929_STOREID2.txt"),
                     ("/STOREID3.txt", "/ORDERW598471_STOREID3.txt")]
    expected = {}
    for path, text in PURCHASES.items():
        store = int(path.split("STOREID")[1].split(".")[0])
        if store in STORES:
            zipcode, name = STORES[store]
            expected[f"/{zipcode}{path}"] = f"\nPurchase at store: {store} - {name} \n{text}"
    assert content(pfs, "inner_join") == expected


LABS = ["/T1606707557-LIPID-PATID1-CLIA24D9871327.txt",
        "/T1606331395-LIPID-PATID2-CLIA24D9871327.txt",
        "/T1606707613-LIPID-PATID1-CLIA24D9871328.txt",
        "/T1606707579-LIPID-PATID3-CLIA24D9871327.txt",
        "/T1606707635-LIPID-PATID3-CLIA24D9871328.txt",
        "/T1606707597-LIPID-PATID4-CLIA24D9871327.txt"]


def patient(path: str) -> str:
    return path.split("-PATID")[1].split("-")[0]


@pytest.mark.skipif(shutil.which("bash") is None, reason="the example's transform is bash")
def test_group_by_patient_example_runs_as_is(pfs):
    # tests/data/lab_group_by_patient.pipeline.json is the example's spec, unchanged.
    pfs.create_repo("labresults")
    put(pfs, "labresults", {p: f"result of {p[1:]}\n" for p in LABS})
    [raw] = load_specs(DATA / "lab_group_by_patient.pipeline.json")
    pl.create_pipeline(pfs, raw)
    [r] = pl.run(pfs)
    job = r.job
    assert (job.state, job.total) == ("success", 4)  # one datum per patient ID
    groups = [sorted(datum_paths(d)) for d in datums(pfs, job)]
    assert groups == [sorted(p for p in LABS if patient(p) == n) for n in "1234"]
    assert content(pfs, "group_by_patient") == {f"/{patient(p)}{p}": f"result of {p[1:]}\n"
                                                for p in LABS}

    # A new result for patient 2 changes that group's datum only: it runs, the old one's
    # outputs are replaced, the other patients are skipped.
    new = "/T1606800000-LIPID-PATID2-CLIA24D9871328.txt"
    put(pfs, "labresults", {new: "late result\n"})
    [r2] = pl.run(pfs)
    assert (r2.job.processed, r2.job.skipped, r2.job.total) == (1, 3, 4)
    out = content(pfs, "group_by_patient")
    assert out[f"/2{new}"] == "late result\n" and len(out) == 7
