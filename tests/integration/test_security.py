"""What one local user runs, another can neither read nor change: the scratch folder where datums
are laid out, and the store.

The second-user test needs root (it makes a user with useradd and acts as them with setpriv); it
skips with one line elsewhere.
"""

import os
import shutil
import stat
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from helpers import PACHLITE, contents, put
from pachlite.errors import PachliteError
from pachlite.pps import pipeline as pl
from pachlite.pps.executors.jobdir import SCRATCH_VAR, scratch_dir
from pachlite.store import Store, fsck


def spec(name: str, repo: str, cmd, glob: str = "/*") -> dict:
    return {"pipeline": {"name": name}, "input": {"pfs": {"repo": repo, "glob": glob}},
            "transform": {"cmd": cmd}}


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def scratch(tmp_path, monkeypatch) -> Path:
    """A scratch folder of this test's own (that does not exist yet)."""
    path = tmp_path / "scratch"
    monkeypatch.setenv(SCRATCH_VAR, str(path))
    return path


def test_a_new_store_and_its_objects_folder_are_private(tmp_path):
    s = Store(tmp_path / "store")
    s.close()
    assert mode(tmp_path / "store") == 0o700
    assert mode(tmp_path / "store" / "objects") == 0o700


def test_datums_are_laid_out_in_private_folders(pfs, scratch):
    pfs.create_repo("data")
    put(pfs, "data", {"/a": "secret"})
    # What the datum sees: its input file, the scratch folder seen at /pfs/.scratch/<dir>, and
    # the job's and the try's folders on the host.
    pl.create_pipeline(pfs, spec("modes", "data", [
        "sh", "-c", f"stat -c %a /pfs/data/a /pfs/.scratch/* {scratch}/* {scratch}/*/* > /pfs/out/modes"]))
    [r] = pl.run(pfs)
    assert r.job.state == "success", r.job.reason
    assert contents(pfs, "modes", text=True) == {"/modes": "600\n700\n700\n700\n"}
    assert mode(scratch) == 0o700
    assert os.listdir(scratch) == []  # the job's folder is gone with it


def test_a_scratch_folder_that_is_a_symlink_is_refused(pfs, scratch, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    scratch.symlink_to(elsewhere)
    pfs.create_repo("data")
    put(pfs, "data", {"/a": "1"})
    pl.create_pipeline(pfs, spec("copy", "data", ["sh", "-c", "cp /pfs/data/* /pfs/out/"]))
    with pytest.raises(PachliteError) as e:
        pl.run(pfs)
    assert str(e.value) == (f"scratch folder {scratch} is not a folder; remove it (it may be another "
                            f"user's trap), or set ${SCRATCH_VAR} to a folder of yours")
    assert pl.inspect_pipeline(pfs, "copy").last_job is None  # nothing was recorded
    assert os.listdir(elsewhere) == []


def test_a_scratch_folder_of_ours_left_open_is_closed(scratch):
    scratch.mkdir(mode=0o755)
    scratch.chmod(0o755)
    assert scratch_dir() == scratch
    assert mode(scratch) == 0o700


# ---- a second local user -----------------------------------------------------------------------

needs_root = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("useradd"),
                                reason="the second-user test makes a user: it needs root and useradd")


@pytest.fixture
def other_user():
    """An unprivileged user, removed afterwards: a function running a shell command as them."""
    name = f"pl{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/sh", name], check=True)
    try:
        def as_other(script: str) -> subprocess.CompletedProcess:
            return subprocess.run(["setpriv", f"--reuid={name}", f"--regid={name}", "--init-groups",
                                   "sh", "-c", script], capture_output=True, text=True, cwd="/")
        yield as_other
    finally:
        subprocess.run(["userdel", name], check=True)


@pytest.fixture
def shared_dir():
    """A folder every user may enter (as /tmp or a home folder is), unlike pytest's tmp_path."""
    d = Path(tempfile.mkdtemp(prefix="pachlite-two-users-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d)


@needs_root
def test_another_user_can_neither_read_a_jobs_inputs_nor_change_its_outputs(other_user, shared_dir,
                                                                            open_pfs):
    scratch = Path("/dev/shm") / f"pachlite-victim-{uuid.uuid4().hex[:8]}"
    try:
        env = {**os.environ, "PACHLITE_STORE": str(shared_dir / "store"), SCRATCH_VAR: str(scratch)}
        go, started = shared_dir / "go", shared_dir / "started"
        pfs = open_pfs(shared_dir / "store")
        pfs.create_repo("data")
        secret = shared_dir / "secret.txt"
        secret.write_text("the secret\n")
        secret.chmod(0o600)
        subprocess.run([str(PACHLITE), "put", "file", "data@master:/secret.txt", "-f", str(secret)],
                       env=env, check=True, capture_output=True)
        pl.create_pipeline(pfs, spec("copy", "data", [
            "sh", "-c", f"touch {started}; while [ ! -e {go} ]; do sleep 0.05; done; "
                        "cp /pfs/data/* /pfs/out/"]))

        # A scratch folder the other user made first is refused, and nothing runs in it.
        other_user(f"mkdir -m 777 {scratch}")
        try:
            r = subprocess.run([str(PACHLITE), "run"], env=env, capture_output=True, text=True)
            assert r.returncode == 1
            assert r.stderr.startswith(f"pachlite: error: scratch folder {scratch} belongs to uid ")
            assert os.listdir(scratch) == []
        finally:
            shutil.rmtree(scratch)

        job = subprocess.Popen([str(PACHLITE), "run"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while not started.exists() and job.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert started.exists(), "the datum did not start"
            [job_dir] = scratch.iterdir()
            [out] = job_dir.glob("*/pfs/out")
            attempts = {
                "list the scratch folder": f"ls {scratch}",
                "read the laid-out input": f"cat {out.parent}/data/secret.txt",
                "write in /pfs/out": f"echo evil > {out}/evil.txt",
                "list the store": f"ls {shared_dir / 'store'}",
                "read the store's database": f"cat {shared_dir / 'store' / 'pachlite.db'}",
                "list the store's objects": f"ls {shared_dir / 'store' / 'objects'}",
            }
            for what, script in attempts.items():
                r = other_user(script)
                assert r.returncode != 0 and "Permission denied" in r.stderr, (what, r)
        finally:
            go.touch()
            stdout, stderr = job.communicate(timeout=60)
        assert job.returncode == 0, stderr
        assert contents(pfs, "copy", text=True) == {"/secret.txt": "the secret\n"}
        assert fsck(pfs.store) == []
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@needs_root
def test_another_user_cannot_read_a_secret_even_in_a_store_shared_for_reading(other_user, shared_dir):
    env = {**os.environ, "PACHLITE_STORE": str(shared_dir / "store")}
    manifest = shared_dir / "secret.json"
    manifest.write_text('{"metadata": {"name": "api"}, "stringData": {"token": "s3cret"}}')
    subprocess.run([str(PACHLITE), "create", "secret", "-f", str(manifest)], env=env, check=True)
    manifest.unlink()
    (shared_dir / "store").chmod(0o755)  # shared for reading: its database, not its secrets
    (shared_dir / "store" / "pachlite.db").chmod(0o644)
    secrets = shared_dir / "store" / "secrets"
    assert mode(secrets) == 0o700 and mode(secrets / "api.json") == 0o600
    for script in (f"cat {secrets}/api.json", f"ls {secrets}"):
        r = other_user(script)
        assert r.returncode != 0 and "s3cret" not in r.stdout, script
