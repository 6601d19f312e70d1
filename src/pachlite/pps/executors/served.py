"""One user process per worker serves many datums.

Two ways: `WarmExecutor` runs a plain `python3 script.py` transform in one warm interpreter per
worker (warm.py runs inside it, over a socket), paying the interpreter's start and the script's
imports once per worker instead of once per datum; `BatchingExecutor` runs a `datumBatching`
transform, whose own loop (`pachyderm_sdk.batch_all_datums`) asks for each datum through the
worker's NextDatum endpoint (nextdatum.py). Both take batches of tasks and answer with one
Outcome per task; both see their datums at /pfs in a private namespace where the machine has one.

A worker holds the next batch while its last results travel back (two in flight), so it never
waits on the job. A worker that dies mid-batch (os._exit, a crash in C) takes no try from its
batch-mates: they run again one at a time, and only the datum that killed it fails.
"""

from __future__ import annotations

import collections
import contextlib
import queue
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

from pachlite.errors import PachliteError
from pachlite.pps.executors import namespace
from pachlite.pps.executors.base import (
    Build,
    Final,
    Outcome,
    Processes,
    Result,
    Setup,
    Task,
    Transform,
    pool_map,
)
from pachlite.pps.executors.process import ProcessExecutor
from pachlite.pps.executors.scratch import make_dirs
from pachlite.pps.executors.warm import FD_VAR, OBJECTS_VAR, ROOT_VAR, VIEW_VAR, WARM_VAR, warm_command
from pachlite.pps.states import DatumState

BATCH_CHUNK = 256


class ServedWorker:
    """One warm interpreter and its socket."""

    def __init__(self, t: Transform, env: dict, root: Path, objects: Path, processes: Processes,
                 inputs: tuple, isolated: bool):
        pfs_root = root / "pfs"
        make_dirs(pfs_root / "out")
        local = t if isolated else t.mapped(str(pfs_root))
        parent, child = socket.socketpair()
        env = {**env, **local.env, FD_VAR: str(child.fileno()), ROOT_VAR: str(pfs_root),
               VIEW_VAR: "/pfs" if isolated else str(pfs_root), OBJECTS_VAR: str(objects)}
        self.processes = processes
        cmd = warm_command(local.cmd, t.accept)
        if isolated:
            cmd = namespace.wrap(cmd, pfs_root, inputs, t.binds, t.workdir)
        self.log = open(root / "worker.log", "w+b")  # noqa: SIM115 (closed by close())
        try:
            self.proc = processes.start(cmd, stdin=subprocess.PIPE, stdout=self.log,
                                        stderr=subprocess.STDOUT, env=env, cwd=t.cwd,
                                        pass_fds=[child.fileno()])
        except OSError as e:
            raise PachliteError(f"cannot start transform.cmd {list(t.cmd)}: {e}",
                                "check the command exists and is executable") from None
        child.close()
        if local.stdin:
            self.proc.stdin.write(local.stdin.encode())
        self.proc.stdin.close()
        self.conn = Connection(parent.detach())
        self.timeout = t.timeout
        # Batches are sent by a thread of the worker's own, in order.
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._sender = threading.Thread(target=self._send, daemon=True)
        self._sender.start()

    def post(self, tasks: list) -> None:
        """Send a batch without waiting: the worker may still be writing the last one's results,
        which the caller must be free to read (a blocking send could deadlock with it)."""
        self._outbox.put(tasks)

    def _send(self) -> None:
        while (tasks := self._outbox.get()) is not None:
            with contextlib.suppress(OSError):  # a dead worker shows up when its results are read
                self.conn.send(tasks)

    def receive(self, tasks: list) -> tuple[list[Outcome], bool]:
        """The outcomes of the oldest batch posted, and whether the worker is gone (crashed or
        killed at the timeout): then any later batch posted to it never ran."""
        try:
            limit = self.timeout * len(tasks) if self.timeout else None
            if not self.conn.poll(limit):
                self.processes.reap(self.proc)
                self.proc.wait()
                why = f"timed out after {self.timeout:g}s"
                return [Outcome(t[0], False, why) for t in tasks], True
            return self.conn.recv(), False
        except (EOFError, OSError):
            code = self.proc.wait()
            self.log.seek(0)
            tail = self.log.read().decode(errors="replace").strip().splitlines()[-3:]
            why = (f"the Python worker exited with code {code} before serving its datums"
                   + (f": {' | '.join(tail)}" if tail else "")
                   + f"; set {WARM_VAR}=0 to run one process per datum")
            return [Outcome(t[0], False, why, log=("\n".join(tail)).encode()) for t in tasks], True

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        self._outbox.put(None)
        self._sender.join()
        with contextlib.suppress(Exception):
            self.conn.send(None)
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=10)
        self.processes.reap(self.proc)
        self.conn.close()
        self.log.close()


class ServedExecutor(ProcessExecutor):
    """Serving workers, one per setup.worker; errCmd still runs as a process per datum."""

    def __init__(self, setup: Setup):
        super().__init__(setup)
        self.spares: list = []

    def new_worker(self, name: str):
        root = self.setup.root / f"worker-{name}-{time.monotonic_ns()}"
        make_dirs(root)
        s = self.setup
        return self.worker_type(s.transform, s.env, root, s.objects, self.processes, s.inputs,
                                self.isolated)

    def run(self, feed, build: Build, final: Final, tick: Callable[[int], None]) -> dict[str, Result]:
        run = _ServedRun(self, feed, build, final, tick)
        # No more workers than datums: a one-datum job (a new file) starts one interpreter, not two
        n = max(1, min(self.setup.workers, feed.total))
        try:
            pool_map(run.serve, range(n), n, self.setup.stop, self.processes)
        finally:
            self.close_spares()
        return run.results

    def close_spares(self) -> None:
        while self.spares:
            self.spares.pop().close()

    def close(self) -> None:
        self.close_spares()
        super().close()


class WarmExecutor(ServedExecutor):
    """A plain `python3 script.py` transform, one warm interpreter per worker."""

    worker_type = ServedWorker

    def __init__(self, setup: Setup):
        super().__init__(setup)
        # The first interpreter starts with the job, so that it is ready when the plan is: it only
        # compiles the script until a datum comes, so a job with nothing to run loses nothing.
        with contextlib.suppress(OSError, PachliteError):  # the job reports it if a datum needs it
            self.spares.append(self.new_worker("first"))


class BatchingExecutor(ServedExecutor):
    """A `datumBatching` transform: its own loop asks for the datums through NextDatum."""

    def __init__(self, setup: Setup):
        super().__init__(setup)
        if not self.isolated:  # pachyderm_sdk reads each datum's variables from /pfs/.env
            raise PachliteError(f"datumBatching needs a private /pfs: {namespace.unavailable()}",
                                "run with --container")

    @property
    def worker_type(self):
        from pachlite.pps.executors.nextdatum import NextDatumWorker  # grpc: only when batching
        return NextDatumWorker


class _ServedRun:
    """One job's run over serving workers: what the worker threads share."""

    def __init__(self, ex: ServedExecutor, feed, build: Build, final: Final,
                 tick: Callable[[int], None]):
        self.ex, self.feed, self.build, self.final, self.tick = ex, feed, build, final, tick
        s = ex.setup
        self.results: dict[str, Result] = {}  # of the datums that failed
        self.attempts: dict[str, int] = {}
        # What runs before the feed's next steps: tasks of datums to try again, and [task] lists,
        # batches to send as they are (a batch that went back unstarted, or a datum to run alone).
        self.queue: collections.deque = collections.deque()
        self.lock = threading.Lock()
        # A datumTimeout is timed per message: one datum per message keeps it per datum.
        timed = s.transform.timeout
        self.chunk = 1 if timed else max(1, min(BATCH_CHUNK, feed.total // (s.workers * 4) or 1))
        self.depth = 1 if timed else 2
        self.served = threading.Event()

    def take(self) -> list | None:
        if self.ex.setup.stop.is_set():
            return None
        with self.lock:
            if self.queue and isinstance(self.queue[0], list):
                return self.queue.popleft()
            if self.queue:  # datums to try again, batched like fresh ones
                batch = []
                while self.queue and len(batch) < self.chunk and not isinstance(self.queue[0], list):
                    batch.append(self.queue.popleft())
                return batch
        # Smaller batches at the end, so that no worker sits idle while another has two to go.
        workers = self.ex.setup.workers
        fresh = self.feed.take(max(1, min(self.chunk, self.feed.left // (2 * workers))))
        return self.build(fresh) if fresh else None

    def serve(self, w: int) -> None:
        worker = None
        inflight: collections.deque[list] = collections.deque()
        try:
            while True:
                while len(inflight) < self.depth and (batch := self.take()) is not None:
                    if worker is not None and not inflight and not worker.alive:
                        worker.close()  # it ended between batches (e.g. its program returned)
                        worker = None
                    if worker is None:
                        with self.lock:
                            worker = self.ex.spares.pop() if self.ex.spares else None
                    if worker is None:
                        worker = self.ex.new_worker(str(w))
                    worker.post(batch)
                    inflight.append(batch)
                if not inflight:
                    return
                batch = inflight.popleft()
                outcomes, gone = worker.receive(batch)
                self.record(batch, outcomes, gone)
                if gone:  # batches posted after the fatal one never started: not a try either
                    with self.lock:
                        self.queue.extendleft(reversed(inflight))
                    inflight.clear()
                    worker.close()
                    worker = None
        finally:
            if worker is not None:
                worker.close()

    def record(self, batch: list[Task], outcomes: list[Outcome], gone: bool) -> None:
        if not gone:
            self.served.set()
        elif len(batch) > 1 and self.served.is_set():
            # Which datum took the worker down is unknown: each runs again alone, and this does
            # not count as a try of any of them. (Not while no worker has served a batch yet: a
            # program that never serves fails every datum fast.)
            with self.lock:
                self.queue.extendleft([task] for task in reversed(batch))
            outcomes = []
        by_id = {task[0]: task for task in batch}
        done = []
        tries = self.ex.setup.tries
        with self.lock:  # once a batch, not once a datum
            for o in outcomes:
                n = self.attempts[o.datum_id] = self.attempts.get(o.datum_id, 0) + 1
                if not o.ok and n < tries:
                    self.queue.append(by_id[o.datum_id])
                    continue
                del self.attempts[o.datum_id]  # final: nothing is kept of a succeeded datum
                state = DatumState.SUCCESS if o.ok else DatumState.FAILED
                if not o.ok:
                    self.results[o.datum_id] = (state, o, n)
                done.append((state, o))
        for state, o in done:
            self.final(o.datum_id, state, o)
        self.tick(len(done))
