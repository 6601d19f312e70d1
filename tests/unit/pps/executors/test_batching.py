"""Datum batching: with `datumBatching`, one user process per worker serves many datums through
`pachyderm_sdk.batch_all_datums`, which asks pachlite's worker for each one through the NextDatum
gRPC endpoint and loads its variables from /pfs/.env, as on a cluster: each datum with its own
/pfs layout, environment, log and success or failure."""

import os
import sys

import pytest

from helpers import contents, datum_paths, datums, logs, put
from pachlite.pps import pipeline as pl

PROGRAM = """\
import os, sys
from pachyderm_sdk import batch_all_datums

with open(sys.argv[2], "a") as f:  # one line per process start
    f.write(f"{os.getpid()}\\n")

@batch_all_datums
def main():
    path = os.environ["data"]
    name, text = os.path.basename(path), open(path).read()
    print(f"datum {name} in {os.getpid()}")
    if text == "raise":
        raise ValueError(f"bad input {name}")
    if text == "exit":
        sys.exit(2)
    if len(os.listdir(os.path.dirname(path))) != 1:
        raise RuntimeError("another datum's files are still here")
    if text == "stray":
        open(path + ".extra", "w").write("written beside the input")
    with open(os.path.join(sys.argv[1], name), "w") as f:
        f.write(f"{os.getpid()} {text}")

if __name__ == "__main__":
    main()
"""


@pytest.fixture
def env(pfs, tmp_path):
    pfs.create_repo("data")
    program = tmp_path / "program.py"
    program.write_text(PROGRAM)
    starts = tmp_path / "starts"
    return pfs, program, starts


def run(pfs, program, starts, files: dict, workers: int = 1, batching: bool = True, **extra):
    put(pfs, "data", files)
    spec = {"pipeline": {"name": "batched"}, "input": {"pfs": {"repo": "data", "glob": "/*"}},
            "transform": {"cmd": [sys.executable, str(program), "/pfs/out", str(starts)],
                          "datumBatching": batching}, **extra}
    pl.create_pipeline(pfs, spec, update=True)
    [r] = pl.run(pfs, workers=workers)
    return r.job


def outputs(pfs, job) -> dict[str, str]:
    return contents(pfs, f"{job.pipeline}@{job.output_commit}", text=True)


def by_path(pfs, job) -> dict[str, dict]:
    """A job's datums by their input file, in the order the job made them."""
    return {datum_paths(d)[0]: d for d in datums(pfs, job)}


@pytest.mark.parametrize("workers", [1, 2])
def test_one_process_per_worker_serves_every_datum(env, workers):
    pfs, program, starts = env
    files = {f"/f{i:02}": f"text {i}" for i in range(12)}
    job = run(pfs, program, starts, files, workers)
    assert (job.state, job.processed) == ("success", 12)
    pids = starts.read_text().split()
    assert len(pids) == workers
    out = outputs(pfs, job)
    assert {p: t.split(" ", 1)[1] for p, t in out.items()} == files
    assert {t.split()[0] for t in out.values()} == set(pids)  # every datum ran in those processes
    for path, row in by_path(pfs, job).items():
        pid = out[path].split()[0]
        assert logs(pfs, job, row["id"]) == [f"datum {path[1:]} in {pid}"]  # its own output only


def test_without_batching_the_sdk_loop_fails_as_on_a_cluster(env):
    # No datumBatching: no NextDatum endpoint, so pachyderm_sdk's loop refuses, as in a worker.
    pfs, program, starts = env
    job = run(pfs, program, starts, {"/a": "1"}, batching=False, datumTries=1)
    [row] = datums(pfs, job)
    assert job.state == "failure"
    assert "Cannot connect to the worker since PPS_WORKER_GRPC_PORT is not set" in "\n".join(
        logs(pfs, job, row["id"]))


def test_an_exception_fails_just_that_datum(env):
    pfs, program, starts = env
    job = run(pfs, program, starts, {"/a": "1", "/bad": "raise", "/c": "3"}, datumTries=2)
    rows = by_path(pfs, job)
    assert {p: r["state"] for p, r in rows.items()} == {
        "/a": "success", "/bad": "failed", "/c": "success"}
    assert rows["/bad"]["reason"] == "ValueError('bad input bad')"  # as the SDK reports it
    assert job.reason == f"datum {rows['/bad']['id']} failed: ValueError('bad input bad')"
    log = logs(pfs, job, rows["/bad"]["id"])
    assert log[0] == "datum bad in " + log[0].split()[-1] and "datum a" not in "\n".join(log)
    assert len(starts.read_text().split()) == 1  # the failure did not cost the process


def test_sys_exit_ends_the_process_and_fails_just_that_datum(env):
    # SystemExit is not an Exception: the SDK does not report it, the user code ends, and the
    # datum it was serving fails; a new process serves the rest.
    pfs, program, starts = env
    job = run(pfs, program, starts, {"/a": "1", "/quit": "exit", "/c": "3"}, datumTries=1)
    rows = by_path(pfs, job)
    assert rows["/quit"]["state"] == "failed" and rows["/a"]["state"] == rows["/c"]["state"] == "success"
    assert rows["/quit"]["reason"].startswith("the batching worker exited with code 2")


def test_inputs_are_read_only(env):
    pfs, program, starts = env
    job = run(pfs, program, starts, {"/a": "1", "/b": "stray", "/c": "3", "/d": "4"}, datumTries=1)
    rows = by_path(pfs, job)
    assert rows["/b"]["reason"] == "OSError(30, 'Read-only file system')"
    assert [p for p, r in rows.items() if r["state"] == "success"] == ["/a", "/c", "/d"]


def test_a_program_that_does_not_batch_gets_a_clear_reason(env, tmp_path):
    pfs, _, starts = env
    plain = tmp_path / "plain.py"
    plain.write_text("print('processed once, then exit')\n")
    job = run(pfs, plain, starts, {"/a": "1"}, datumTries=1)
    [row] = by_path(pfs, job).values()
    assert job.state == "failure"
    assert row["reason"] == ("the batching worker exited with code 0 before serving its datums: "
                             "processed once, then exit; wrap the per-datum code with "
                             "pachyderm_sdk.batch_all_datums")


def test_a_program_that_never_serves_fails_each_batch_not_each_datum(env, tmp_path):
    # 40 datums in batches of up to 10 on one worker, three tries each: a program that exits at
    # once is started a few times per batch, not once per datum and try.
    pfs, _, starts = env
    plain = tmp_path / "plain.py"
    plain.write_text("import sys\nopen(sys.argv[2], 'a').write('start\\n')\n")
    job = run(pfs, plain, starts, {f"/f{i:02d}": str(i) for i in range(40)})
    assert (job.state, job.failed) == ("failure", 40)
    assert len(starts.read_text().splitlines()) < 40


def test_a_missing_program_fails_the_job_with_the_command(env):
    pfs, _, _ = env
    put(pfs, "data", {"/a": "1"})
    pl.create_pipeline(pfs, {"pipeline": {"name": "batched"},
                             "input": {"pfs": {"repo": "data", "glob": "/*"}},
                             "transform": {"cmd": ["no-such-program-xyz"], "datumBatching": True},
                             "datumTries": 1})
    [r] = pl.run(pfs)
    assert r.job.state == "failure"
    [row] = datums(pfs, r.job)
    assert "no-such-program-xyz: command not found" in row["reason"]


def test_outcomes_go_to_their_own_batch_however_late_they_are_read(tmp_path):
    # The user code runs through both batches before the job reads the first one's outcomes.
    import time

    from pachlite.pps.executors.base import Processes, Transform
    from pachlite.pps.executors.nextdatum import NextDatumWorker
    from pachlite.store import hash_bytes

    program = tmp_path / "copier.py"
    program.write_text("import os, shutil\nfrom pachyderm_sdk import batch_all_datums\n\n"
                       "@batch_all_datums\ndef main():\n"
                       "    shutil.copy(os.environ['data'], '/pfs/out/')\n\nmain()\n")
    (tmp_path / "w").mkdir()
    worker = NextDatumWorker(Transform((sys.executable, str(program)), None, {}, timeout=30.0), dict(os.environ),
                             tmp_path / "w", tmp_path, Processes(), ("data",), True)

    def task(name):
        return (name, [(f"data/{name}", hash_bytes(name.encode()), name.encode(), None)],
                {"data": f"/pfs/data/{name}"})
    try:
        first, second = [task("a"), task("b")], [task("c")]
        worker.post(first)
        worker.post(second)
        while not worker.batches[1][1]:  # c done: the user code asked for a fourth datum
            time.sleep(0.05)
            assert worker.alive, (tmp_path / "w" / "worker.log").read_text()
        outcomes, gone = worker.receive(first)
        assert not gone and [(o.datum_id, o.ok, [p for p, *_ in o.outputs]) for o in outcomes] == [
            ("a", True, ["/a"]), ("b", True, ["/b"])]
        outcomes, gone = worker.receive(second)
        assert not gone and [(o.datum_id, [p for p, *_ in o.outputs]) for o in outcomes] == [("c", ["/c"])]
    finally:
        worker.close()
