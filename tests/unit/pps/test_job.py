"""Jobs: datums run, skip or are removed; outputs merge into one AUTO commit; failures are recorded.

Expected behaviour is Pachyderm's (reference/SEMANTICS.md), with the reasons pachd writes:
"datum <id> failed" (worker/pipeline/transform/registry.go), "duplicate path output by different
datums (<p> from <d1> and <p> from <d2>)" and "file / directory path collision (<p>)"
(pfs/server validate: checkIndex).
"""

import os
import sys
import time
from pathlib import Path

import pytest

from helpers import contents, datum_bytes, datum_paths, datums, logs, put
from pachlite.errors import InvalidInput
from pachlite.pfs import AUTO
from pachlite.pfs.address import Address
from pachlite.pps import pipeline as pl

COPY = ["sh", "-c", "cp -r /pfs/data/* /pfs/out/"]


@pytest.fixture
def pfs(pfs):
    pfs.create_repo("data")
    return pfs


def head(pfs, repo: str) -> str | None:
    return {b.name: b.head for b in pfs.list_branch(repo)}["master"]


def errored_head(pfs, job, good: str | None) -> None:
    """As pachd's FinishJob: the failed job's output commit, in its commit set, is the head,
    finished with the job's reason; its parent is the last good output (`good`, a key)."""
    c = pfs.resolve(Address("copy", "master"))
    assert (c.key, c.id, c.error, c.parent_key) == (job.output_commit, job.id, job.reason, good)


def make(pfs, cmd, glob="/*", name="copy", **extra):
    spec = {"pipeline": {"name": name}, "input": {"pfs": {"repo": "data", "glob": glob}},
            "transform": {"cmd": cmd, **extra.pop("transform", {})}, **extra}
    return pl.create_pipeline(pfs, spec)


def run(pfs, name="copy", **kw):
    [r] = pl.run(pfs, [name], **kw)
    assert r.action == "ran", r
    return r.job


def counts(job) -> tuple:
    return job.processed, job.skipped, job.failed, job.recovered, job.total


# ---- SEMANTICS case 10 -----------------------------------------------------------------------

def test_incremental_case_10(pfs):
    make(pfs, COPY)
    put(pfs, "data", {"/file": "one"})
    j1 = run(pfs)
    assert (j1.state, counts(j1)) == ("success", (1, 0, 0, 0, 1))
    assert contents(pfs, "copy") == {"/file": b"one"}

    put(pfs, "data", {"/file2": "two"})
    j2 = run(pfs)
    assert (counts(j2), j2.progress) == ((1, 1, 0, 0, 2), "1 + 1 / 2")
    assert contents(pfs, "copy") == {"/file": b"one", "/file2": b"two"}

    c3 = put(pfs, "data", {"/file": "ONE"})
    j3 = run(pfs)
    ran = [r["inputs"] for r in datums(pfs, j3) if r["state"] == "success"]
    assert counts(j3)[:2] == (1, 1) and ran == [[f"data@{c3.id}:/file"]]
    assert contents(pfs, "copy") == {"/file": b"ONE", "/file2": b"two"}

    c = pfs.start_commit("data")  # delete file and add file3 in one commit
    pfs.delete_file(Address("data", "master", path="/file"))
    put(pfs, "data", {"/file3": "three"})
    pfs.finish_commit(Address("data", commit=c.id))
    j4 = run(pfs)
    assert counts(j4)[:2] == (1, 1) and j4.total == 2
    assert contents(pfs, "copy") == {"/file2": b"two", "/file3": b"three"}

    c = pfs.start_commit("data")  # an empty commit still makes a job; everything is skipped
    pfs.finish_commit(Address("data", commit=c.id))
    j5 = run(pfs)
    assert (j5.state, j5.reason, counts(j5)) == (
        "success", "there were no datums to process", (0, 2, 0, 0, 2))
    assert contents(pfs, "copy") == {"/file2": b"two", "/file3": b"three"}
    assert len({j.id for j in (j1, j2, j3, j4, j5)}) == 5
    assert pl.run(pfs, ["copy"])[0].action == "up to date"  # no new commit, no new job


# ---- the output commit -----------------------------------------------------------------------

def test_outputs_merge_into_one_auto_commit_with_provenance(pfs):
    make(pfs, COPY)
    in_commit = put(pfs, "data", {"/a": "1", "/b": "2", "/c": "3"}).id
    job = run(pfs, workers=2)
    out = pfs.resolve(Address("copy", "master"))
    assert out.id == job.output_commit and out.origin == AUTO and out.repo == "copy"
    assert ("data", "master", in_commit) in out.provenance
    assert contents(pfs, "copy") == {"/a": b"1", "/b": b"2", "/c": b"3"}
    assert pfs.inspect_repo("copy").kind == "pipeline"


def test_two_datums_writing_one_path_fail_the_job_and_its_output_commit(pfs):
    make(pfs, ["sh", "-c", "basename $data > /pfs/out/same"])
    put(pfs, "data", {"/a": "1", "/b": "2"})
    job = run(pfs)
    ids = [r["id"] for r in datums(pfs, job)]
    assert job.state == "failure"
    assert job.reason == (f"duplicate path output by different datums "
                          f"(/same from {ids[0]} and /same from {ids[1]})")
    errored_head(pfs, job, None)


@pytest.fixture
def one_record_a_write(monkeypatch):
    """Records written (and a first job's outputs staged) a datum at a time."""
    from pachlite.pps import records
    monkeypatch.setattr(records, "FLUSH_ROWS", 1)
    monkeypatch.setattr(records, "FLUSH_S", 0.01)


@pytest.mark.parametrize("cmd, reason", [
    # a path output twice, by datums whose outputs were staged in different writes
    ('[ "$(basename $data)" = a05 ] && echo x > /pfs/out/a00 || cp $data /pfs/out/',
     "duplicate path output by different datums (/a00 from "),
    # a file of one datum is a folder of another's, staged in different writes
    ('[ "$(basename $data)" = a05 ] && mkdir /pfs/out/a00 && echo y > /pfs/out/a00/y '
     '|| cp $data /pfs/out/', "file / directory path collision (/a00/y)"),
])
def test_a_first_jobs_outputs_staged_in_pieces_are_checked_whole(pfs, one_record_a_write, cmd,
                                                                 reason):
    make(pfs, ["sh", "-c", cmd], parallelismSpec={"constant": 1})
    put(pfs, "data", {f"/a{i:02}": str(i) for i in range(8)})
    job = run(pfs, workers=1)
    assert (job.state, job.reason[:len(reason)]) == ("failure", reason)
    errored_head(pfs, job, None)
    assert pfs.store.query("SELECT * FROM staged") == []


def test_a_first_job_whose_last_write_fails_leaves_nothing_staged(pfs, monkeypatch):
    # Its duplicate found, the job's last transaction fails after dropping the staged outputs:
    # rolled back, they are dropped again on the way out.
    from pachlite.store import jobs

    def finish(*a, **k):
        raise RuntimeError("the last write fails")
    monkeypatch.setattr(jobs, "finish", finish)
    make(pfs, ["sh", "-c", "echo x > /pfs/out/same"])
    put(pfs, "data", {"/a": "1", "/b": "2"})
    with pytest.raises(RuntimeError):
        pl.run(pfs, ["copy"], workers=1)
    assert pfs.store.query("SELECT * FROM staged") == []


def test_a_first_job_with_a_failed_datum_leaves_nothing_staged(pfs, one_record_a_write):
    make(pfs, ["sh", "-c", '[ "$(basename $data)" != a05 ] && cp $data /pfs/out/'])
    put(pfs, "data", {f"/a{i:02}": str(i) for i in range(8)})
    job = run(pfs, workers=1)
    assert (job.state, counts(job)) == ("failure", (7, 0, 1, 0, 8))
    assert pfs.store.query("SELECT * FROM staged") == []
    layers = pfs.store.query("SELECT COUNT(*) FROM layers")[0][0]
    assert layers == pfs.store.query("SELECT COUNT(DISTINCT layer) FROM commit_layers")[0][0]


def test_a_new_datum_may_not_overwrite_a_skipped_datums_output(pfs):
    make(pfs, ["sh", "-c", "basename $data > /pfs/out/same"])
    put(pfs, "data", {"/a": "1"})
    good = run(pfs)
    put(pfs, "data", {"/b": "2"})
    job = run(pfs)
    assert job.state == "failure" and "duplicate path output by different datums" in job.reason
    errored_head(pfs, job, good.output_commit)
    assert contents(pfs, "copy@master^") == {"/same": b"a\n"}


def test_file_directory_collision_fails_the_job(pfs):
    make(pfs, ["sh", "-c", 'if [ "$(basename $data)" = a ]; then echo f > /pfs/out/x; '
                           'else mkdir /pfs/out/x && echo d > /pfs/out/x/y; fi'])
    put(pfs, "data", {"/a": "1", "/b": "2"})
    job = run(pfs)
    assert (job.state, job.reason) == ("failure", "file / directory path collision (/x/y)")


def test_a_rerun_datum_replaces_its_old_outputs(pfs):
    # Output names depend on the content: a changed datum must not leave its old file behind.
    make(pfs, ["sh", "-c", 'cp $data "/pfs/out/$(cat $data)"'])
    put(pfs, "data", {"/a": "v1", "/b": "w"})
    run(pfs)
    put(pfs, "data", {"/a": "v2"})
    run(pfs)
    assert contents(pfs, "copy") == {"/v2": b"v2", "/w": b"w"}


# ---- workers and batching give the same commit ----------------------------------------------

DIGEST = """\
import hashlib, os, sys

def main():
    src, out = os.environ["data"], sys.argv[1]
    for root, _, names in os.walk(src):
        for n in names:
            data = open(os.path.join(root, n), "rb").read()
            with open(os.path.join(out, n + ".sha"), "w") as f:
                f.write(hashlib.sha256(data).hexdigest())

if __name__ == "__main__":
    if "PPS_WORKER_GRPC_PORT" in os.environ:  # datumBatching: the worker serves the datums
        from pachyderm_sdk import batch_all_datums
        main = batch_all_datums(main)
    main()
"""


@pytest.mark.parametrize("workers,batching", [(3, False), (1, True), (3, True)])
def test_workers_and_batching_give_identical_commits(tmp_path, open_pfs, workers, batching):
    script = tmp_path / "digest.py"
    script.write_text(DIGEST)
    data = {f"/d{i // 4}/f{i}": f"content {i}" * (i + 1) for i in range(12)}

    def commit_files(root: Path, n: int, batch: bool):
        p = open_pfs(root)
        p.create_repo("data")
        put(p, "data", data)
        make(p, [sys.executable, str(script), "/pfs/out"], transform={"datumBatching": batch})
        job = run(p, workers=n)
        assert (job.state, job.processed) == ("success", 3)
        return p.files(job.output_commit)

    one = commit_files(tmp_path / "one", 1, False)
    assert len(one) == 12
    assert commit_files(tmp_path / "other", workers, batching) == one


# ---- job records -----------------------------------------------------------------------------

def test_job_record_counts_bytes_and_times(pfs):
    make(pfs, ["sh", "-c", "cat $data $data > /pfs/out/$(basename $data)"])
    put(pfs, "data", {"/a": "12345", "/b": "123"})
    before = time.time()
    job = run(pfs)
    assert job.state == "success" and job.reason == ""
    assert (job.bytes_in, job.bytes_out) == (8, 16)
    assert before <= job.created <= job.started <= job.finished <= time.time()
    assert job.duration is not None and job.inputs == (("data", "master", head(pfs, "data")),)
    rows = datums(pfs, job)
    assert [r["state"] for r in rows] == ["success", "success"]
    assert datum_bytes(pfs, job) == [(5, 10), (3, 6)]
    assert all(r["duration"] is not None and r["source_job"] == job.id for r in rows)
    put(pfs, "data", {"/c": "1"})
    job2 = run(pfs)
    skipped = [r for r in datums(pfs, job2) if r["state"] == "skipped"]
    assert [r["source_job"] for r in skipped] == [job.id, job.id]  # processed in the first job
    assert (job2.bytes_in, job2.bytes_out) == (1, 2)  # only what this job processed


def test_glob_matching_nothing_is_a_successful_job_with_zero_datums(pfs):
    make(pfs, COPY, glob="/nothing-*")
    put(pfs, "data", {"/a": "1"})
    job = run(pfs)
    assert (job.state, counts(job), job.progress) == ("success", (0, 0, 0, 0, 0), "0 + 0 / 0")
    assert job.reason == "there were no datums to process (the input matched no files)"
    assert contents(pfs, "copy") == {}


def test_every_job_reprocesses_unchanged_datums(pfs):
    make(pfs, COPY, reprocessSpec="every_job")
    put(pfs, "data", {"/a": "1"})
    run(pfs)
    put(pfs, "data", {"/b": "2"})
    job = run(pfs)
    assert counts(job)[:2] == (2, 0) and contents(pfs, "copy") == {"/a": b"1", "/b": b"2"}


# ---- failures --------------------------------------------------------------------------------

def flaky(counter: Path, fail_times: int) -> list[str]:
    """A command that fails its first `fail_times` tries, counting tries in a file."""
    return ["sh", "-c", f'n=$(($(cat {counter} 2>/dev/null || echo 0) + 1)); echo $n > {counter}; '
                        f'echo "try $n"; [ $n -gt {fail_times} ] && cp $data /pfs/out/']


def test_datum_tries_retries_a_failing_datum(pfs, tmp_path):
    counter = tmp_path / "tries"
    make(pfs, flaky(counter, 2))  # datumTries defaults to 3
    put(pfs, "data", {"/a": "1"})
    job = run(pfs)
    assert job.state == "success" and counter.read_text() == "3\n"
    assert contents(pfs, "copy") == {"/a": b"1"}
    [row] = datums(pfs, job)
    assert logs(pfs, job, row["id"]) == ["try 1", "try 2", "try 3"]  # every try's output is kept


def test_datum_that_keeps_failing_fails_the_job_naming_it(pfs, tmp_path):
    counter = tmp_path / "tries"
    make(pfs, flaky(counter, 5), datumTries=2)
    put(pfs, "data", {"/a": "1"})
    job = run(pfs)
    [row] = datums(pfs, job)
    assert counter.read_text() == "2\n" and (job.state, counts(job)) == ("failure", (0, 0, 1, 0, 1))
    assert job.reason == f"datum {row['id']} failed: command exited with code 1: try 2"
    assert (row["state"], row["reason"]) == ("failed", "command exited with code 1: try 2")


def test_err_cmd_recovers_a_datum_and_it_is_retried_next_job(pfs):
    make(pfs, ["sh", "-c", 'grep -q good $data && cp $data /pfs/out/'],
         transform={"errCmd": ["sh", "-c", "echo recovering $(basename $data)"]})
    put(pfs, "data", {"/ok": "good", "/bad": "bad"})
    job = run(pfs)
    assert (job.state, counts(job), job.progress) == ("success", (1, 0, 0, 1, 2), "1 + 0 + 1 / 2")
    assert contents(pfs, "copy") == {"/ok": b"good"}  # a recovered datum has no output
    rows = {datum_paths(r)[0]: r for r in datums(pfs, job)}
    assert rows["/bad"]["state"] == "recovered"
    assert "recovering bad" in logs(pfs, job, rows["/bad"]["id"])

    put(pfs, "data", {"/other": "good"})
    job2 = run(pfs)
    assert counts(job2) == (1, 1, 0, 1, 3)  # /bad is tried again, /ok skipped
    put(pfs, "data", {"/bad": "good now"})
    job3 = run(pfs)
    assert (counts(job3), job3.progress) == ((1, 2, 0, 0, 3), "1 + 2 / 3")
    assert set(contents(pfs, "copy")) == {"/ok", "/other", "/bad"}


def test_accept_return_code_counts_as_success(pfs):
    make(pfs, ["sh", "-c", "cp $data /pfs/out/; exit 3"], transform={"acceptReturnCode": [3]})
    put(pfs, "data", {"/a": "1"})
    job = run(pfs)
    assert job.state == "success" and contents(pfs, "copy") == {"/a": b"1"}


def test_datum_timeout_kills_the_command_and_its_children(pfs, tmp_path):
    pid_file = tmp_path / "child.pid"
    make(pfs, ["sh", "-c", f"sleep 30 & echo $! > {pid_file}; wait"], datumTimeout="0.5s",
         datumTries=1)
    put(pfs, "data", {"/a": "1"})
    started = time.monotonic()
    job = run(pfs)
    assert time.monotonic() - started < 10
    [row] = datums(pfs, job)
    assert job.state == "failure" and row["reason"] == "timed out after 0.5s"
    status = Path(f"/proc/{pid_file.read_text().strip()}/status")
    assert not status.exists() or "zombie" in status.read_text()  # the `sleep` is gone too


@pytest.mark.parametrize("cmd,reason", [
    (["no-such-program-xyz"], "command exited with code 127: no-such-program-xyz: command not found"),
    (["sh", "-c", "echo boom >&2; exit 4"], "command exited with code 4: boom"),
    (["sh", "-c", "echo x > /pfs/data/extra"],  # inputs are read-only
     "command exited with code 2: sh: 1: cannot create /pfs/data/extra: Read-only file system"),
    (["sh", "-c", "ln -s /etc/passwd /pfs/out/p"],
     "/pfs/out/p is a symlink to /etc/passwd, outside /pfs; write the content itself"),
    (["sh", "-c", "ln -s /pfs/out /pfs/out/loop"],
     "/pfs/out/loop is a symlink back into a folder already written; write the content itself"),
])
def test_a_failing_datum_gets_a_clear_reason_and_nothing_committed_is_lost(pfs, cmd, reason):
    make(pfs, COPY)
    put(pfs, "data", {"/a": "1"})
    good = run(pfs)
    pl.create_pipeline(pfs, {"pipeline": {"name": "copy"},
                             "input": {"pfs": {"repo": "data", "glob": "/*"}},
                             "transform": {"cmd": cmd}, "datumTries": 1}, update=True,
                       reprocess=True)
    job = run(pfs)
    [row] = datums(pfs, job)
    assert (job.state, job.reason) == ("failure", f"datum {row['id']} failed: {reason}")
    errored_head(pfs, job, good.output_commit)
    assert contents(pfs, "copy@master^") == {"/a": b"1"}
    assert contents(pfs, "data") == {"/a": b"1"}


def test_a_symlink_inside_pfs_uploads_its_target(pfs):
    make(pfs, ["sh", "-c", "ln -s $data /pfs/out/link"])
    put(pfs, "data", {"/a": "target"})
    run(pfs)
    assert contents(pfs, "copy") == {"/link": b"target"}


# ---- the environment of user code ------------------------------------------------------------

def test_environment_stdin_and_transform_env(pfs):
    make(pfs, ["sh"], glob="/dir/*", transform={
        "stdin": ['printf "%s\\n" "$data_COMMIT" "$PACH_JOB_ID" "$PACH_DATUM_ID" '
                  '"$PACH_OUTPUT_COMMIT_ID" "$GREETING" "$data" > /pfs/out/env',
                  'cp "$data" /pfs/out/via-env', 'echo "$OUT_DIR" > /pfs/out/mapped'],
        "env": {"GREETING": "hello", "OUT_DIR": "/pfs/out"}})
    in_commit = put(pfs, "data", {"/dir/f": "payload"}).id
    job = run(pfs)
    [row] = datums(pfs, job)
    out = contents(pfs, "copy")
    env = out["/env"].decode().split("\n")
    assert env[:5] == [in_commit, job.id, row["id"], job.output_commit, "hello"]
    assert env[5].endswith("/pfs/data/dir/f")  # <input>: the datum's path under /pfs/<input>
    assert out["/via-env"] == b"payload"  # $data is the datum's file, under /pfs/data/dir/f
    assert out["/mapped"].decode().strip().endswith("/pfs/out")


def test_command_without_stdin_reads_empty_input(pfs):
    make(pfs, ["sh", "-c", "cat > /pfs/out/stdin"])
    put(pfs, "data", {"/a": "1"})
    job = run(pfs)
    assert job.state == "success" and contents(pfs, "copy") == {"/stdin": b""}


def test_glob_error_fails_the_job_and_raises(pfs):
    make(pfs, COPY, glob="/[")
    put(pfs, "data", {"/a": "1"})
    with pytest.raises(InvalidInput):
        pl.run(pfs, ["copy"])
    assert pl.inspect_pipeline(pfs, "copy").last_job.state == "failure"
    assert os.listdir(pfs.store.root / "locks") == ["copy.lock"]


def test_a_first_job_killed_between_its_record_chunks_shows_no_output_and_fsck_stays_clean(pfs, tmp_path):
    # A first job's records are written in chunks as its datums finish, and its output commit
    # is made from them in its last transaction: until then nothing of it is visible.
    from test_pipeline import blocking, start_run, wait_for

    import helpers
    from pachlite.store import fsck
    put(pfs, "data", {f"/a{i:02}": str(i) for i in range(30)})
    cmd, started, _ = blocking(tmp_path, "cp $data /pfs/out/", only="a20")
    make(pfs, cmd)
    p = start_run(pfs, tmp_path, "copy", "--workers", "1")
    try:
        wait_for(started.exists, "datum a20 to start")
        [running] = helpers.jobs(pfs, "copy")
        wait_for(lambda: len(datums(pfs, running)) == 20, "the finished datums' records")
        assert head(pfs, "copy") is None and fsck(pfs.store) == []
    finally:
        p.kill()
        p.wait()
    assert head(pfs, "copy") is None and fsck(pfs.store) == []
    (tmp_path / "block").unlink()
    job = run(pfs)
    assert counts(job) == (10, 20, 0, 0, 30)
    assert contents(pfs, "copy") == {f"/a{i:02}": str(i).encode() for i in range(30)}
    assert pfs.store.query("SELECT * FROM staged") == [] and fsck(pfs.store) == []
