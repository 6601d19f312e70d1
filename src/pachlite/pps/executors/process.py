"""A process per datum: the datum's inputs laid out in a scratch /pfs, its command run there.

The default way a datum runs when its transform is not a plain Python script (served.py keeps
an interpreter warm for those) and not in container mode. The command sees the scratch folder at
/pfs in a private mount namespace (namespace.py): each worker thread keeps one such namespace, and
its /pfs, for all its datums, as a worker pod does, and each datum's command is forked in it.
Where the machine has none, each datum gets a scratch folder of its own and `/pfs` in the command,
stdin and environment is rewritten to it instead.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

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
from pachlite.pps.executors.scratch import Scratch, clear, make_dirs, map_pfs
from pachlite.pps.states import DatumState


class ProcessExecutor:
    """Each datum in its own process and scratch root; up to setup.workers at once."""

    isolate = True  # user code sees its scratch folder at /pfs (container mode has its own)

    def __init__(self, setup: Setup):
        self.setup = setup
        self.processes = Processes()
        self.isolated = self.isolate and namespace.unavailable() is None
        self._ns_local = threading.local()  # this thread's namespace worker and its /pfs
        self._ns_workers: list[tuple[namespace.NamespaceWorker, Scratch]] = []
        self._ns_lock = threading.Lock()
        self._ns_count = itertools.count()  # names the workers' folders: /pfs/.scratch/ns-<n>
        # A datum's command gets the worker's environment less the secret mounts, which are the
        # launcher's (made once, in the namespace), not the command's.
        self._command_env = {k: v for k, v in setup.env.items() if k != namespace.SECRETS_VAR}

    @staticmethod
    def environment(pachyderm: dict[str, str]) -> dict[str, str]:
        # A local process inherits the host's environment, as any command would; stage code and
        # pachlite.batch import pachlite from here, whichever python runs them.
        env = {**os.environ, **pachyderm}
        src = str(Path(__file__).resolve().parents[3])
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        return env

    def run(self, feed, build: Build, final: Final, tick: Callable[[int], None]) -> dict[str, Result]:
        s = self.setup

        def one(i_step):
            i, step = i_step
            [task] = build([step])
            if s.stop.is_set():  # the job was stopped (Ctrl-C, jobTimeout): start no more datums
                return task[0], (DatumState.FAILED, Outcome(task[0], False, "the job was stopped"), 0)
            logs = []
            for n in range(1, s.tries + 1):
                o = self.run_alone(task, s.root / f"{i}-{n}", s.transform)
                logs.append(o.log)
                if o.ok or s.stop.is_set():
                    break
            o.log = b"".join(logs)  # every try's output: the first failure is often the telling one
            state = DatumState.SUCCESS if o.ok else DatumState.FAILED
            final(task[0], state, o)
            tick(1)
            return (task[0], (state, o, n)) if not o.ok else None

        places = itertools.count()

        def worker(_) -> list:
            # Each worker takes the next step when it is free (a map over the feed would take
            # every step at once: a plan of 10^6 datums held whole).
            failed = []
            while not s.stop.is_set() and (taken := feed.take(1)):
                r = one((next(places), taken[0]))
                if r is not None:
                    failed.append(r)
            return failed
        done = pool_map(worker, range(s.workers), s.workers, s.stop, self.processes)
        return dict(r for failed in done for r in failed)

    def run_alone(self, task: Task, root: Path, transform: Transform) -> Outcome:
        """One try of one datum: in this thread's namespace worker, or in its own scratch root."""
        if self.isolated:
            return self._in_worker(task, transform)
        datum_id, files, env = task
        pfs_root = root / "pfs"
        started = time.time()
        try:
            scratch = Scratch(pfs_root)
            scratch.lay_out(files)
            code, log = self.run_command(transform, env, pfs_root)
            return outcome(datum_id, code, log, transform, scratch, self.setup.objects, started)
        finally:
            clear(root)

    def _in_worker(self, task: Task, t: Transform) -> Outcome:
        """One try of one datum in this thread's namespace, its /pfs emptied of the last datum's
        files and output (Scratch, as a warm worker's) rather than made anew."""
        worker, scratch = self._worker()
        datum_id, files, env = task
        started = time.time()
        try:
            scratch.lay_out(files)
            scratch.write_env(env)
            cwd = map_pfs(t.cwd, scratch.root) if t.cwd else None  # a workingDir under /pfs
            if not t.cmd:
                code, log = 127, b"transform.cmd is empty"
            elif cwd and not os.path.isdir(cwd):
                code, log = 127, f"working directory {cwd} does not exist".encode()
            else:
                code, log = worker.run(t.cmd, {**self._command_env, **env, **t.env}, t.stdin,
                                       t.workdir or t.cwd or os.getcwd(), t.timeout)
            return outcome(datum_id, code, log, t, scratch, self.setup.objects, started)
        finally:
            scratch.reset()

    def _worker(self) -> tuple[namespace.NamespaceWorker, Scratch]:
        mine = getattr(self._ns_local, "worker", None)
        if mine is None or not mine[0].alive:
            if mine is not None:
                with self._ns_lock:
                    self._ns_workers.remove(mine)
                _close(*mine)
            pfs_root = self.setup.root / f"ns-{next(self._ns_count)}" / "pfs"
            make_dirs(pfs_root / "out")
            t = self.setup.transform
            mine = self._ns_local.worker = (namespace.NamespaceWorker(
                pfs_root, self.setup.inputs, self.processes, self.setup.env, t.binds, t.workdir),
                Scratch(pfs_root, view="/pfs", sealed=True))
            with self._ns_lock:
                self._ns_workers.append(mine)
        return mine

    def run_command(self, t: Transform, datum_env: dict, pfs_root: Path) -> tuple[int | None, bytes]:
        """Run the command on a laid-out /pfs, rewritten into the command (no namespace here);
        (exit code or None if timed out, its log)."""
        cwd = map_pfs(t.cwd, str(pfs_root)) if t.cwd else None  # a workingDir under /pfs
        local = t.mapped(str(pfs_root))
        root = str(pfs_root)
        env = {**self.setup.env, **{k: map_pfs(v, root) for k, v in datum_env.items()}, **local.env}
        return run_process(self.processes, local.cmd, local.stdin, env, cwd, t.timeout,
                           pfs_root.parent)

    def close(self) -> None:
        with self._ns_lock:
            workers, self._ns_workers = self._ns_workers, []
        for worker, scratch in workers:
            _close(worker, scratch)
        self.processes.kill_all()


def _close(worker: namespace.NamespaceWorker, scratch: Scratch) -> None:
    worker.close()
    scratch.close()


def run_process(processes: Processes, cmd, stdin: str | None, env: dict, cwd: str | None,
                timeout: float | None, log_dir: Path) -> tuple[int | None, bytes]:
    """Run a command; stdout and stderr interleaved in one log. None exit code = timed out.

    Without transform.stdin the command reads an empty stdin, as in a worker pod (never the
    terminal pachlite was started from). As Pachyderm's worker, the datum ends when the command's
    process exits, not when its output closes: the log is a file (in log_dir, unnamed), so that a
    background child it left cannot hold the datum; reap() then kills that child.
    """
    if not cmd:
        return 127, b"transform.cmd is empty"
    if cwd and not os.path.isdir(cwd):
        return 127, f"working directory {cwd} does not exist".encode()
    with tempfile.TemporaryFile(dir=log_dir) as log:
        try:
            p = processes.start(cmd, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        except FileNotFoundError:
            return 127, f"{cmd[0]}: command not found".encode()
        except PermissionError:
            return 126, f"{cmd[0]}: permission denied".encode()
        try:
            p.communicate(stdin.encode() if stdin else None, timeout=timeout)
            code = p.returncode
        except subprocess.TimeoutExpired:
            code = None
        finally:
            processes.reap(p)  # the timed-out command, or what it left running
            p.wait()
        log.seek(0)
        return code, log.read()


def outcome(datum_id: str, code: int | None, log: bytes, t: Transform, scratch: Scratch,
            objects: Path, started: float) -> Outcome:
    """A try's outcome from the command's exit (None: timed out) and what it left in /pfs/out."""
    ok = code == 0 or (code is not None and code in t.accept)
    if not ok:
        why = f"timed out after {t.timeout:g}s" if code is None else f"command exited with code {code}"
        tail = log.decode(errors="replace").strip().splitlines()[-1:] if log else []
        return Outcome(datum_id, False, why + (f": {tail[0]}" if tail else ""), [], log, started,
                       time.time() - started)
    outputs, err = scratch.collect(objects)
    return Outcome(datum_id, not err, err, outputs, log, started, time.time() - started)
