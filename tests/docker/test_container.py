"""User code in the stage image against a real Docker engine: /pfs in and out, env, stdin, exit
codes, timeouts and a non-root user, for both ways of running a datum. Skipped where no engine
answers, except under CI, where container mode is part of what is checked."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from docker_helpers import docker_client, require_image_inputs, stage_image

require_image_inputs()  # one line for the module where Docker is missing; before the imports below

from helpers import PACHLITE, contents, put  # noqa: E402
from pachlite.errors import NotFound  # noqa: E402
from pachlite.pps import pipeline as pl  # noqa: E402
from pachlite.pps.executors.container import (  # noqa: E402
    CANNOT_EXECUTE,
    ContainerWorker,
)

pytestmark = pytest.mark.docker

TAG = "pachlite-stage:test"


@pytest.fixture(scope="module")
def image() -> str:
    return stage_image(TAG)


@pytest.fixture
def pfs_dir(tmp_path) -> Path:
    """A datum's /pfs as the job engine lays it out: inputs under in/, an empty out/."""
    root = tmp_path / "pfs"
    (root / "out").mkdir(parents=True)
    (root / "in").mkdir()
    return root


@pytest.fixture
def run(image, pfs_dir):
    """Run a command on the pfs_dir fixture as a worker does: one exec per datum."""
    with ContainerWorker(image, pfs_dir) as worker:
        yield lambda cmd, env={}, stdin=None, timeout=None: worker.run(
            cmd, env, stdin=stdin, timeout=timeout)


def test_the_stage_image_holds_the_stage_programs_and_their_imports(run):
    result = run(["python3", "scripts/train.py", "--help"])
    assert result.exit_code == 0, result.stderr
    assert "--out-dir" in result.stdout


def test_a_datum_reads_its_inputs_and_the_host_gets_its_outputs(run, pfs_dir):
    data = os.urandom(4096) + b"\x00\xff end"
    (pfs_dir / "in" / "x").write_bytes(data)
    result = run(["sh", "-c", "mkdir /pfs/out/sub && cat /pfs/in/x /pfs/in/x > /pfs/out/sub/y"])
    assert result.exit_code == 0, result.stderr
    assert (pfs_dir / "out" / "sub" / "y").read_bytes() == data + data
    shutil.rmtree(pfs_dir / "out" / "sub")  # the job engine must be able to clear it


def test_env_and_stdin_reach_the_command_and_stderr_stays_apart(run):
    env = {"PACH_DATUM_ID": "d41d8c", "in": "/pfs/in/x"}
    result = run(["sh", "-c", 'echo "$PACH_DATUM_ID $in"; cat; echo oops >&2'], env,
                 stdin="first line\nsecond line\n", timeout=30)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "d41d8c /pfs/in/x\nfirst line\nsecond line\n"
    assert result.stderr == "oops\n"


def test_a_command_that_leaves_stdin_unread_still_succeeds(run):
    result = run(["true"], stdin="x\n" * 200_000)
    assert (result.exit_code, result.timed_out) == (0, False)


def test_a_failing_command_reports_its_exit_code_and_stderr(run):
    result = run(["sh", "-c", "echo half done; echo bad input >&2; exit 3"])
    assert (result.exit_code, result.timed_out) == (3, False)
    assert result.stdout == "half done\n"
    assert result.stderr == "bad input\n"


def test_a_missing_program_fails_the_datum_with_the_engines_reason(run):
    result = run(["no-such-program", "--flag"])
    assert result.exit_code == CANNOT_EXECUTE
    assert "no-such-program" in result.stdout + result.stderr


def test_a_datum_past_its_timeout_is_killed_and_reported(run):
    started = time.monotonic()
    result = run(["sh", "-c", "echo started; sleep 60"], timeout=1)
    assert result.timed_out
    assert result.stdout == "started\n"
    assert time.monotonic() - started < 15
    # The next datum runs normally (the worker replaces its killed container).
    assert run(["true"]).exit_code == 0


def test_user_code_runs_as_a_non_root_user(run):
    result = run(["id", "-u"])
    assert result.exit_code == 0, result.stderr
    assert int(result.stdout) != 0


def test_the_stage_image_declares_a_non_root_user_and_workdir(image):
    config = docker_client().images.get(image).attrs["Config"]
    assert config["User"] not in ("", "0", "root") and not config["User"].startswith("0:")
    assert config["WorkingDir"] == "/app"


def test_an_unknown_image_is_not_found(image, pfs_dir):
    with pytest.raises(NotFound, match="no-such-image:0"), ContainerWorker("no-such-image:0", pfs_dir) as w:
        w.run(["true"], {})


# ---- the job engine in container mode ----------------------------------------------------------

def _job(pfs, image, cmd, **transform):
    pfs.create_repo("data")
    put(pfs, "data", {"/a": "a", "/b": "b"})
    spec = {"pipeline": {"name": "echo"}, "input": {"pfs": {"repo": "data", "glob": "/*"}},
            "transform": {"cmd": cmd, **({"image": image} if image else {}), **transform},
            "datumTries": 1}
    pl.create_pipeline(pfs, spec)
    [r] = pl.run(pfs, ["echo"], workers=2, container=True)
    return r.job


def test_a_job_in_container_mode_sees_pfs_and_only_the_pods_environment(image, pfs, monkeypatch):
    monkeypatch.setenv("HOST_SECRET", "must-not-leak")
    job = _job(pfs, image, ["sh", "-c", "cat $data > /pfs/out/$(basename $data); "
                                      "env | sort > /pfs/out/env-$(basename $data)"],
                    env={"GREETING": "hi"})
    assert job.state == "success", job.reason
    files = contents(pfs, f"echo@{job.output_commit}", text=True)
    assert files["/a"] == "a" and files["/b"] == "b"
    env = dict(line.split("=", 1) for line in files["/env-a"].splitlines())
    assert env["data"] == "/pfs/data/a" and env["GREETING"] == "hi"
    assert env["PACH_JOB_ID"] == job.id and env["data_COMMIT"] == job.inputs[0][2]
    assert "HOST_SECRET" not in env  # the pod's environment, not the host's
    assert env["PATH"].startswith("/opt/stage/bin:")  # the image's own, with the stage packages


def test_a_job_without_an_image_uses_pachyderms_default_and_says_it_is_missing(image, pfs):
    with pytest.raises(NotFound, match="image ubuntu:20.04 is not in the Docker engine") as err:
        _job(pfs, None, ["true"])
    assert "name another in transform.image" in str(err.value)


def test_a_failing_datum_in_a_container_fails_the_job_with_its_exit_code(image, pfs):
    job = _job(pfs, image, ["sh", "-c", "echo oops >&2; exit 4"])
    assert job.state == "failure" and "command exited with code 4: oops" in job.reason


def test_kill_9_of_a_container_run_removes_its_worker_container(image, pfs, tmp_path):
    pfs.create_repo("data")
    put(pfs, "data", {"/a": "a"})
    pl.create_pipeline(pfs, {"pipeline": {"name": "wait"}, "input": {"pfs": {"repo": "data", "glob": "/*"}},
                             "transform": {"cmd": ["sh", "-c", "touch /pfs/out/started; sleep 300"],
                                           "image": image}})
    client = docker_client()

    def containers() -> set[str]:
        # list() inspects each container it lists: one removed in between (as this worker's is,
        # once pachlite is killed) is skipped, not an error.
        return {c.id for c in client.containers.list(all=True, ignore_removed=True)}
    before = containers()
    env = {**os.environ, "PACHLITE_STORE": str(pfs.store.root)}
    p = subprocess.Popen([str(PACHLITE), "run", "--container", "wait"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (new := containers() - before):
        assert time.monotonic() < deadline and p.poll() is None, "no worker container started"
        time.sleep(0.2)
    time.sleep(1)  # the datum's exec is running in it
    p.kill()  # kill -9: pachlite cannot remove its container itself
    p.wait()
    deadline = time.monotonic() + 30
    while new & containers():
        assert time.monotonic() < deadline, "the worker container outlived the killed pachlite"
        time.sleep(0.2)
