"""Datum batching the cluster's way: a worker's `NextDatum` gRPC endpoint, served by pachlite.

With `datumBatching`, pachd's worker starts the user's command once and serves it the datums one
by one through `pachyderm.worker.Worker/NextDatum` on localhost:$PPS_WORKER_GRPC_PORT: each call
reports how the last datum went (`error`, empty when it succeeded) and, once the next datum is
laid out under /pfs with its variables in /pfs/.env, answers with those variables; when no datum
is left the worker ends the user code (pachd's worker/server API and its Status.NextDatum).
`pachyderm_sdk.batch_all_datums` is that loop. Here each serving worker is a gRPC server on
127.0.0.1 that pachlite's job feeds, the same file runs unchanged on a cluster, and the user code
sees the datum at /pfs in its private namespace (namespace.py).

The two messages have one field each (NextDatumRequest.error = 1, NextDatumResponse.env = 1,
repeated), so they are encoded here rather than pulling a second protobuf runtime into pachlite.
"""

from __future__ import annotations

import collections
import os
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc

from pachlite.errors import PachliteError
from pachlite.pps.executors import namespace
from pachlite.pps.executors.base import Outcome, Processes, Transform
from pachlite.pps.executors.scratch import Scratch, make_dirs, map_pfs

PORT_VAR = "PPS_WORKER_GRPC_PORT"  # what pachyderm_sdk's Client().worker connects to
SERVICE, METHOD = "pachyderm.worker.Worker", "NextDatum"


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def decode_request(data: bytes) -> str:
    """NextDatumRequest → its error (the only field; unknown ones are skipped as protobuf does)."""
    i, error = 0, ""
    while i < len(data):
        key, i = _read_varint(data, i)
        kind = key & 7
        if kind == 0:
            _, i = _read_varint(data, i)
        elif kind == 2:
            n, i = _read_varint(data, i)
            if key >> 3 == 1:
                error = data[i:i + n].decode(errors="replace")
            i += n
        else:  # fixed64 / fixed32
            i += 8 if kind == 1 else 4
    return error


def _read_varint(data: bytes, i: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        if b < 0x80:
            return n, i
        shift += 7


def encode_response(env: list[str]) -> bytes:
    """NextDatumResponse{env: [...]}: field 1, length-delimited, repeated."""
    out = bytearray()
    for e in env:
        b = e.encode()
        out += b"\x0a" + _varint(len(b)) + b
    return bytes(out)


class NextDatumWorker:
    """One user process serving datums through NextDatum, with ServedWorker's interface: post
    batches, receive each batch's outcomes in order, close."""

    def __init__(self, t: Transform, env: dict, root: Path, objects: Path, processes: Processes,
                 inputs: tuple, isolated: bool):
        pfs_root = root / "pfs"
        make_dirs(pfs_root / "out")
        self.view = "/pfs" if isolated else str(pfs_root)
        self.scratch = Scratch(pfs_root, view="/pfs" if isolated else None, sealed=isolated)
        self.objects, self.processes, self.timeout = objects, processes, t.timeout
        self.cond = threading.Condition()
        # Batches posted, oldest first, each [tasks, outcomes so far]; the tasks not yet handed
        # out, each with its batch; the datum the user code has now: (batch, task, started, log
        # offset). A datum's outcome goes to its own batch, however late receive() looks.
        self.batches: collections.deque = collections.deque()
        self.todo: collections.deque = collections.deque()
        self.current: tuple | None = None
        self.closed = False
        self.server = grpc.server(ThreadPoolExecutor(max_workers=1))
        self.server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, {
            METHOD: grpc.unary_unary_rpc_method_handler(
                self._next, request_deserializer=decode_request, response_serializer=encode_response)})])
        port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        local = t if isolated else t.mapped(str(pfs_root))
        env = {**env, **local.env, PORT_VAR: str(port), "PYTHONUNBUFFERED": "1"}
        cmd = namespace.wrap(t.cmd, pfs_root, inputs, t.binds, t.workdir) if isolated else local.cmd
        self.log = open(root / "worker.log", "w+b")  # noqa: SIM115 (closed by close())
        try:
            self.proc = processes.start(cmd, stdin=subprocess.PIPE, stdout=self.log,
                                        stderr=subprocess.STDOUT, env=env, cwd=t.cwd)
        except OSError as e:
            self.server.stop(None)
            raise PachliteError(f"cannot start transform.cmd {list(t.cmd)}: {e}",
                                "check the command exists and is executable") from None
        if local.stdin:
            self.proc.stdin.write(local.stdin.encode())
        self.proc.stdin.close()

    # ---- the endpoint ------------------------------------------------------------------------

    def _next(self, error: str, context) -> list[str]:
        with self.cond:
            if self.current is not None:
                self._finish(error)
            while not self.todo and not self.closed:
                self.cond.wait()
            if self.closed:  # no datum left: the worker ends the user code (close() kills it)
                context.abort(grpc.StatusCode.CANCELLED, "no more datums")
            batch, task = self.todo.popleft()
        datum_id, files, datum_env = task
        started = time.time()
        try:
            self.scratch.lay_out(files)
        except PachliteError as e:  # a damaged input: this datum fails, the next one is served
            self.scratch.clear_inputs()
            with self.cond:
                self._record(batch, Outcome(datum_id, False, str(e), [], b"", started, 0.0))
            return self._next("", context)
        env = {k: map_pfs(v, self.view) for k, v in datum_env.items()}
        self.scratch.write_env(env)
        with self.cond:
            self.current = (batch, task, started, os.fstat(self.log.fileno()).st_size)
        return [f"{k}={v}" for k, v in env.items()]

    def _finish(self, error: str) -> None:
        """The current datum's outcome, now that the user code asked for the next one."""
        batch, (datum_id, _, _), started, offset = self.current
        self.current = None
        log = self._log_since(offset)
        if error:
            o = Outcome(datum_id, False, error, [], log, started, time.time() - started)
        else:
            outputs, err = self.scratch.collect(self.objects)
            o = Outcome(datum_id, not err, err, outputs, log, started, time.time() - started)
        self.scratch.reset()
        self._record(batch, o)

    def _record(self, batch: list, o: Outcome) -> None:
        batch[1].append(o)
        self.cond.notify_all()

    def _log_since(self, offset: int) -> bytes:
        end = os.fstat(self.log.fileno()).st_size
        return os.pread(self.log.fileno(), end - offset, offset) if end > offset else b""

    # ---- ServedWorker's interface ----------------------------------------------------------

    def post(self, tasks: list) -> None:
        batch = [tasks, []]
        with self.cond:
            self.batches.append(batch)
            self.todo.extend((batch, t) for t in tasks)
            self.cond.notify_all()

    def receive(self, tasks: list) -> tuple[list[Outcome], bool]:
        """The outcomes of the oldest batch posted, and whether the worker is gone."""
        deadline = time.monotonic() + self.timeout * len(tasks) if self.timeout else None
        with self.cond:
            while len(self.batches[0][1]) < len(tasks):
                code = self.proc.poll()
                if code is not None or (deadline is not None and time.monotonic() > deadline):
                    return self._gone(tasks, code), True
                self.cond.wait(0.05)
            return self.batches.popleft()[1], False

    def _gone(self, tasks: list, code: int | None) -> list[Outcome]:
        """The worker died (or timed out): what it finished of the batch, then a failure each."""
        if code is None:
            self.processes.reap(self.proc)
            why = f"timed out after {self.timeout:g}s"
        else:
            tail = self._log_since(0).decode(errors="replace").strip().splitlines()[-3:]
            why = (f"the batching worker exited with code {code} before serving its datums"
                   + (f": {' | '.join(tail)}" if tail else "")
                   + "; wrap the per-datum code with pachyderm_sdk.batch_all_datums")
        done = self.batches.popleft()[1]
        started = self.current[2] if self.current else time.time()
        self.current, self.closed = None, True
        self.todo.clear()
        self.batches.clear()
        return done + [Outcome(t[0], False, why, [], b"", started, 0.0) for t in tasks[len(done):]]

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        self.processes.reap(self.proc)
        self.proc.wait()
        self.server.stop(None)
        self.scratch.close()
        self.log.close()
