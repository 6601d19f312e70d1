"""The executor seam: how a job's datums run, as one small protocol.

A job hands its executor a feed of datum steps and a way to turn steps into tasks (the files to
lay out and the datum's variables); the executor runs each task up to `datumTries` times and
reports every final outcome. One implementation per way a datum runs:

    ProcessExecutor      a process per datum, its scratch folder seen at /pfs (process.py, namespace.py)
    ContainerExecutor    a container per datum, the scratch folder bind-mounted at /pfs (container.py)
    WarmExecutor         one Python interpreter per worker serving a plain `python3 script.py` (served.py)
    BatchingExecutor     the user's own datumBatching loop, one process per worker, fed through
                         NextDatum (served.py, nextdatum.py)

`executors.select` picks one for a transform. This module runs inside user processes too (warm
workers import `Outcome`), so it imports nothing heavy.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pachlite.pps.executors.scratch import map_pfs

if TYPE_CHECKING:
    from pachlite.pps.feed import Feed
    from pachlite.pps.plan import Step
    from pachlite.pps.states import DatumState

# A task is plain data so it pickles cheaply to serving workers:
# (datum_id, [(rel path under pfs root, content hash, inline bytes | None, object file | None)], env)
Task = tuple
Result = tuple["DatumState", "Outcome", int]  # final state, last outcome, tries used
Build = Callable[["Sequence[Step]"], "list[Task]"]
Final = Callable[[str, "DatumState", "Outcome"], None]


@dataclass
class Outcome:
    """One try of one datum."""
    datum_id: str
    ok: bool
    reason: str = ""
    outputs: list = field(default_factory=list)  # (path, hash, size, data | None)
    log: bytes = b""
    started: float = 0.0
    duration: float = 0.0

    def __reduce__(self):  # positional: half the pickling cost of a dataclass's __dict__
        return Outcome, (self.datum_id, self.ok, self.reason, self.outputs, self.log, self.started,
                         self.duration)


@dataclass(frozen=True)
class Transform:
    """The parts of `transform` a local worker needs, with /pfs already mapped for a root."""
    cmd: tuple[str, ...]
    stdin: str | None
    env: dict
    err_cmd: tuple[str, ...] = ()
    err_stdin: str | None = None
    accept: frozenset = frozenset()
    timeout: float | None = None
    cwd: str | None = None
    image: str | None = None
    # In a private namespace: (local, image path) of what the image holds, and its WORKDIR
    # (pps/images.py).
    binds: tuple = ()
    workdir: str | None = None

    @staticmethod
    def from_spec(t: dict, timeout: float | None, cwd: str | None) -> Transform:
        stdin = "\n".join(t["stdin"]) + "\n" if t.get("stdin") else None
        err_stdin = "\n".join(t["errStdin"]) + "\n" if t.get("errStdin") else None
        return Transform(tuple(t.get("cmd") or ()), stdin, dict(t.get("env") or {}),
                         tuple(t.get("errCmd") or ()), err_stdin,
                         frozenset(int(c) for c in t.get("acceptReturnCode") or ()), timeout, cwd,
                         t.get("image"))

    def mapped(self, pfs_root: str) -> Transform:
        m = lambda s: map_pfs(s, pfs_root)  # noqa: E731
        return Transform(tuple(map(m, self.cmd)), m(self.stdin) if self.stdin else None,
                         {k: m(v) for k, v in self.env.items()}, tuple(map(m, self.err_cmd)),
                         m(self.err_stdin) if self.err_stdin else None, self.accept, self.timeout,
                         self.cwd, self.image)


@dataclass(frozen=True)
class Setup:
    """What every executor of a job is given."""
    transform: Transform
    env: dict            # the workers' base environment (see Executor.environment)
    root: Path           # the job's scratch folder: one subfolder per datum or worker
    objects: Path        # the store's object folder, where large inputs are read from
    workers: int
    tries: int           # datumTries
    inputs: tuple = ()   # the names of the pipeline's inputs: /pfs/<name> in a private /pfs
    stop: threading.Event = field(default_factory=threading.Event)  # set when the job is interrupted


class Executor(Protocol):
    """One way a job's datums run."""

    @staticmethod
    def environment(pachyderm: dict[str, str]) -> dict[str, str]:
        """The base environment of user code, given the worker's Pachyderm variables."""
        ...

    def run(self, feed: Feed, build: Build, final: Final,
            tick: Callable[[int], None]) -> dict[str, Result]:
        """Run every step the feed gives (each up to setup.tries times); call `final` with each
        datum's last outcome as it comes and `tick` with how many finished; return those of the
        datums that failed (a succeeded one's goes to `final` only: a job of 10^6 datums does
        not hold them all)."""
        ...

    def run_alone(self, task: Task, root: Path, transform: Transform) -> Outcome:
        """One try of one task with another transform (errCmd) in its own scratch root."""
        ...

    def close(self) -> None:
        """Stop every process this executor started."""
        ...


# The guardian: a small process that outlives a killed pachlite just long enough to kill the
# process groups and remove the containers it was told about. pachlite tells it "+pgid" when a
# group starts and "-pgid" when it is gone ("+c<docker socket> <container id>" and "-c…" for a
# worker's container); when its stdin closes (pachlite exited, however it died) it kills what is
# left. Standard library only: it asks the Docker engine over its socket.
_GUARD = """
import os, signal, socket, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
groups, containers = set(), set()
for line in sys.stdin:
    add, what = line[0] == "+", line[1:].strip()
    into = containers if what.startswith("c") else groups
    (into.add if add else into.discard)(what[1:] if what.startswith("c") else int(what))
for g in groups:
    try:
        os.killpg(g, signal.SIGKILL)
    except OSError:
        pass
for c in containers:
    path, cid = c.split(" ", 1)
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(path)
            s.sendall(f"DELETE /containers/{cid}?force=1 HTTP/1.0\\r\\nHost: docker\\r\\n\\r\\n".encode())
            s.recv(64)
    except OSError:
        pass
"""
_guardian: subprocess.Popen | None = None
_guardian_lock = threading.Lock()


def tell_guardian(line: str) -> None:
    global _guardian
    with _guardian_lock:
        if _guardian is None or _guardian.poll() is not None:
            _guardian = subprocess.Popen([sys.executable, "-I", "-S", "-c", _GUARD],
                                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, start_new_session=True)
        with contextlib.suppress(BrokenPipeError):
            os.write(_guardian.stdin.fileno(), line.encode())


class Processes:
    """The process groups of user code an executor has running. A datum's group is killed once
    its command exits (a background child it left does not hold the datum) or times out (a
    `sh -c` command's children too); an interrupted job ends every one; and should pachlite itself
    be killed (kill -9), the guardian process kills them."""

    def __init__(self) -> None:
        self._groups: set[int] = set()
        self._lock = threading.Lock()

    def start(self, cmd, **kw) -> subprocess.Popen:
        """Popen in a new process group, kept until `reap`. Started under the lock: a kill_all
        (Ctrl-C) while a command starts would otherwise miss it, and the job wait for it."""
        with self._lock:
            p = subprocess.Popen(list(cmd), start_new_session=True, **kw)
            self._groups.add(p.pid)
        tell_guardian(f"+{p.pid}\n")
        return p

    def reap(self, p: subprocess.Popen) -> None:
        """Kill a process's group (whatever of it still runs) and forget it."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGKILL)
        with self._lock:
            self._groups.discard(p.pid)
        tell_guardian(f"-{p.pid}\n")

    def adopt(self, pgid: int) -> None:
        """A process group started elsewhere (a namespace worker's datum), killed as our own."""
        with self._lock:
            self._groups.add(pgid)
        tell_guardian(f"+{pgid}\n")

    def release(self, pgid: int) -> None:
        with self._lock:
            self._groups.discard(pgid)
        tell_guardian(f"-{pgid}\n")

    def kill_all(self) -> None:
        with self._lock:
            groups = list(self._groups)
        for pgid in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)


def pool_map(fn, items, workers: int, stop: threading.Event, processes: Processes) -> list:
    """ex.map, except that an interrupted job (Ctrl-C) kills the datums still running and
    starts no more, instead of waiting for every queued datum to finish."""
    ex = ThreadPoolExecutor(workers)
    try:
        return list(ex.map(fn, items))
    except BaseException:
        stop.set()
        processes.kill_all()
        raise
    finally:
        ex.shutdown(wait=True, cancel_futures=True)
