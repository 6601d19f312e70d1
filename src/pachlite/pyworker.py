"""Warm workers for Python transforms: `python3 script.py ARGS` without an interpreter per datum.

Pachyderm pays a container start per worker, not per datum; locally the cost to avoid is the
interpreter start and the imports (pandas alone is ~0.8 s). When a transform's command is
`python`/`python3` followed by a `.py` file and no stdin, pachlite forks a worker from its own
interpreter, compiles the script once, and runs it as `__main__` for each datum: fresh module
globals, `sys.argv` and `os.environ` as the datum's, stdout and stderr (file descriptors 1 and 2)
captured into the datum's log, `sys.exit` codes honoured. Modules the script imports stay loaded
between datums, which is the point. Scripts that must not share a process opt out with
`PACHLITE_WARM_WORKERS=0` in the environment.
"""

from __future__ import annotations

import builtins
import multiprocessing
import os
import re
import sys
import time
import traceback
from pathlib import Path

from .worker import Outcome, Transform, collect, lay_out, map_pfs

_PYTHON = re.compile(r"python(3(\.\d+)?)?")


def python_script(t: Transform) -> str | None:
    """The script a transform runs, when it is a plain `python3 script.py ...` command."""
    if os.environ.get("PACHLITE_WARM_WORKERS", "1") == "0":
        return None
    if len(t.cmd) < 2 or t.stdin or not _PYTHON.fullmatch(os.path.basename(t.cmd[0])):
        return None
    script = t.cmd[1]
    path = Path(t.cwd or ".") / script
    return script if script.endswith(".py") and path.is_file() else None


class WarmWorker:
    """One forked process serving datums for a Python script (same interface as the batch worker)."""

    def __init__(self, t: Transform, base_env: dict, root: Path, objects: Path):
        pfs_root = root / "pfs"
        (pfs_root / "out").mkdir(parents=True, exist_ok=True)
        local = t.mapped(str(pfs_root))
        ctx = multiprocessing.get_context("fork")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, daemon=True, args=(
            child, local.cmd[1], list(local.cmd[2:]), {**base_env, **local.env}, pfs_root, objects,
            t.cwd, t.accept, root / "datum.log"))
        self.proc.start()
        child.close()
        self.timeout = t.timeout

    def run(self, tasks: list) -> list[Outcome]:
        try:
            self.conn.send(tasks)
            if not self.conn.poll(self.timeout * len(tasks) if self.timeout else None):
                self.proc.kill()
                return [Outcome(t[0], False, f"timed out after {self.timeout:g}s") for t in tasks]
            return self.conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError):
            self.proc.join()
            why = f"the Python worker died (exit code {self.proc.exitcode})"
            return [Outcome(t[0], False, why) for t in tasks]

    @property
    def alive(self) -> bool:
        return self.proc.is_alive()

    def close(self) -> None:
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.proc.join(timeout=10)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()


def _serve(conn, script: str, argv: list[str], env: dict, pfs_root: Path, objects: Path,
           cwd: str | None, accept: frozenset, log_path: Path) -> None:
    from .batch import _reset
    if cwd:
        os.chdir(cwd)
    path = os.path.abspath(script)
    with open(path, "rb") as f:
        code = compile(f.read(), path, "exec")
    sys.path[0] = os.path.dirname(path)
    log_fd = os.open(log_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    root = str(pfs_root)
    while True:
        try:
            tasks = conn.recv()
        except EOFError:
            break
        if tasks is None:
            break
        results = []
        for datum_id, files, datum_env in tasks:
            started = time.time()
            os.ftruncate(log_fd, 0)
            os.lseek(log_fd, 0, os.SEEK_SET)
            inputs = lay_out(pfs_root, files)
            os.environ.clear()
            os.environ.update(env)
            os.environ.update({k: map_pfs(v, root) for k, v in datum_env.items()})
            sys.argv = [script, *argv]
            rc = _exec(code, path)
            sys.stdout.flush()
            sys.stderr.flush()
            log = os.pread(log_fd, os.fstat(log_fd).st_size, 0)
            ok, reason, outputs = rc == 0 or rc in accept, "", []
            if ok:
                outputs, reason = collect(pfs_root, objects, inputs)
                ok = not reason
            else:
                tail = log.decode(errors="replace").strip().splitlines()[-1:]
                reason = f"command exited with code {rc}" + (f": {tail[0]}" if tail else "")
            _reset(pfs_root, inputs)
            results.append(Outcome(datum_id, ok, reason, outputs, log, started,
                                   time.time() - started))
        conn.send(results)
    os._exit(0)


def _exec(code, path: str) -> int:
    """Run the compiled script as __main__; its exit status as a process would report it."""
    try:
        exec(code, {"__name__": "__main__", "__file__": path, "__builtins__": builtins})
        return 0
    except SystemExit as e:
        if e.code is None:
            return 0
        if isinstance(e.code, int):
            return e.code
        print(e.code, file=sys.stderr)
        return 1
    except BaseException:  # the script's crash is the datum's failure, as a traceback in its log
        traceback.print_exc()
        return 1
