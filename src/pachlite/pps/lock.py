"""One job of a pipeline at a time: the pipeline's lock, which names the process holding it, so
that `delete pipeline` can stop a running job as pachd does."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import time
from pathlib import Path

from pachlite.errors import Conflict
from pachlite.pfs import PFS

# How long `delete pipeline` waits for the job it stopped to end.
STOP_WAIT_S = 30.0
# The reason of a job recorded as running whose process died without ending it (kill -9).
DIED = "the pachlite process running this job was stopped"


class Stopped(KeyboardInterrupt):
    """The process running a job was asked to stop (SIGTERM): the job ends as killed."""


@contextlib.contextmanager
def pipeline_lock(pfs: PFS, pipeline: str, *, stop_running: bool = False):
    """One job of a pipeline at a time; other pipelines run concurrently. The holder writes its
    pid in the lock file; with stop_running, a running job's process is asked to stop (SIGTERM,
    as pachd kills a deleted pipeline's jobs) and the lock taken once it has."""
    path = _path(pfs, pipeline)
    (pfs.store.root / "locks").mkdir(mode=0o700, exist_ok=True)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    with open(path, "a+") as f:
        if stop_running:
            _stop_holder(f, pipeline)
        else:
            fcntl.flock(f, fcntl.LOCK_EX)
        _write_holder(f, str(os.getpid()))
        try:
            yield
        finally:
            _write_holder(f, "")


def held(pfs: PFS, pipeline: str) -> bool:
    """Whether a process holds the pipeline's lock, i.e. runs its job: a job recorded as running
    while nobody holds it was left by a process that died (kill -9)."""
    path = _path(pfs, pipeline)
    if not path.exists():
        return False
    with open(path, "rb") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)  # shared: readers do not block each other
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


def _path(pfs: PFS, pipeline: str) -> Path:
    # A pipeline's key: locks/NAME.lock in the default project, locks/PROJECT/NAME.lock elsewhere.
    return pfs.store.root / "locks" / f"{pipeline}.lock"


def _write_holder(f, text: str) -> None:
    f.seek(0)
    f.truncate()
    f.write(text)
    f.flush()


def _stop_holder(f, pipeline: str) -> None:
    deadline = time.monotonic() + STOP_WAIT_S
    stopped = None
    while True:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        f.seek(0)
        text = f.read().strip()  # empty for the moment between the holder's lock and its write
        if text.isdigit() and int(text) != stopped:
            stopped = int(text)
            if stopped == os.getpid():
                raise Conflict(f"pipeline {pipeline} has a job running in this process",
                               "wait for it to end")
            with contextlib.suppress(ProcessLookupError):
                os.kill(stopped, signal.SIGTERM)
        if time.monotonic() > deadline:
            raise Conflict(f"pipeline {pipeline} has a running job (process {stopped}) that did "
                           f"not stop within {STOP_WAIT_S:g}s",
                           "stop that process, then run the command again")
        time.sleep(0.05)
