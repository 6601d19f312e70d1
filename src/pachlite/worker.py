"""What a Pachyderm worker does for one datum: lay out /pfs, run user code, collect /pfs/out.

Locally there is no /pfs: each datum (or each batching worker) gets a scratch root, and every
`/pfs` in the command, stdin and environment is rewritten to `<root>/pfs`, so `/pfs/out/x` in a
spec means `<root>/pfs/out/x` on the laptop. In container mode the same folder is bind-mounted at
/pfs and nothing is rewritten. These functions are also called inside a datum-batching user
process (`pachlite.batch`), so they import nothing heavy.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .store import INLINE_MAX, hash_bytes, write_large

# A task is plain data so it pickles cheaply to batching workers:
# (datum_id, [(rel path under pfs root, inline bytes | None, object file | None)], env)
Task = tuple

_PFS = re.compile(r"(?<![\w./-])/pfs(?=/|\b|$)")


def map_pfs(text: str, pfs_root: str) -> str:
    """Rewrite `/pfs` at the start of a path (also after `=` or a space) to the local root."""
    if pfs_root == "/pfs":
        return text
    return _PFS.sub(pfs_root.replace("\\", "\\\\"), text)


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


def lay_out(pfs_root: Path, files) -> list[Path]:
    """Write a datum's input files under pfs_root and make an empty out/; return what was written."""
    (pfs_root / "out").mkdir(parents=True, exist_ok=True)
    written = []
    made: set[Path] = set()
    for rel, data, obj in files:
        dest = pfs_root / rel
        parent = dest.parent
        if parent not in made:
            parent.mkdir(parents=True, exist_ok=True)
            made.add(parent)
        if data is not None:
            with open(dest, "wb") as f:
                f.write(data)
        else:
            shutil.copyfile(obj, dest)
        written.append(dest)
    return written


def collect(pfs_root: Path, objects_dir: Path, inputs: list[Path]) -> tuple[list, str]:
    """Read /pfs/out into (path, hash, size, data|None) rows; report writes outside /pfs/out.

    Returns (outputs, error). Symlinks in out/ are followed while they stay inside the datum's
    /pfs (Pachyderm uploads the target's content), refused otherwise; so are broken links, links
    that loop, and anything that is not a regular file or directory (a fifo would block forever).
    """
    outputs = []
    real_root = os.path.realpath(pfs_root)
    out_dir = str(pfs_root / "out")
    stack = [(out_dir, "")]
    visited = {os.path.realpath(out_dir)}
    while stack:
        d, rel = stack.pop()
        with os.scandir(d) as it:
            for e in it:
                path = rel + "/" + e.name
                src = e.path
                if e.is_symlink():
                    real = os.path.realpath(src)
                    if not real.startswith(real_root + os.sep):
                        return [], (f"/pfs/out{path} is a symlink to {real}, outside /pfs; "
                                    "write the content itself")
                    if not os.path.exists(real):
                        return [], f"/pfs/out{path} is a broken symlink; write the content itself"
                    src = real
                if os.path.isdir(src):
                    if os.path.realpath(src) in visited:
                        return [], (f"/pfs/out{path} is a symlink back into a folder already "
                                    "written; write the content itself")
                    visited.add(os.path.realpath(src))
                    stack.append((src, path))
                    continue
                if not os.path.isfile(src):
                    return [], (f"/pfs/out{path} is not a regular file; "
                                "write only files and folders under /pfs/out")
                with open(src, "rb") as f:
                    head = f.read(INLINE_MAX + 1)
                    if len(head) <= INLINE_MAX:
                        outputs.append((path, hash_bytes(head), len(head), head))
                    else:
                        h, size, _ = write_large(objects_dir, f, head)
                        outputs.append((path, h, size, None))
    stray = _stray_files(pfs_root, inputs)
    if stray:
        return [], (f"the datum wrote {stray[0]} outside /pfs/out; "
                    "write outputs only under /pfs/out")
    outputs.sort()
    return outputs, ""


def _stray_files(pfs_root: Path, inputs: list[Path]) -> list[str]:
    expected = {str(p) for p in inputs}
    out_dir = str(pfs_root / "out")
    stray = []
    for d, dirs, files in os.walk(pfs_root):
        if d == out_dir:
            dirs[:] = []
            continue
        for f in files:
            p = os.path.join(d, f)
            if p not in expected:
                stray.append("/pfs/" + os.path.relpath(p, pfs_root))
    return sorted(stray)


def clear(pfs_root: Path) -> None:
    shutil.rmtree(pfs_root, ignore_errors=True)


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

    @staticmethod
    def from_spec(t: dict, timeout: float | None, cwd: str | None) -> "Transform":
        stdin = "\n".join(t["stdin"]) + "\n" if t.get("stdin") else None
        err_stdin = "\n".join(t["errStdin"]) + "\n" if t.get("errStdin") else None
        return Transform(tuple(t.get("cmd") or ()), stdin, dict(t.get("env") or {}),
                         tuple(t.get("errCmd") or ()), err_stdin,
                         frozenset(int(c) for c in t.get("acceptReturnCode") or ()), timeout, cwd)

    def mapped(self, pfs_root: str) -> "Transform":
        m = lambda s: map_pfs(s, pfs_root)  # noqa: E731
        return Transform(tuple(map(m, self.cmd)), m(self.stdin) if self.stdin else None,
                         {k: m(v) for k, v in self.env.items()}, tuple(map(m, self.err_cmd)),
                         m(self.err_stdin) if self.err_stdin else None, self.accept, self.timeout,
                         self.cwd)


# Process groups of user code still running: a timed-out datum's whole group is killed (a
# `sh -c` command's children too), and an interrupted job ends every one of them.
_running: set[int] = set()
_running_lock = threading.Lock()


def start_process(cmd, **kw) -> subprocess.Popen:
    """Popen in a new process group, registered until `reap` so kill_running can end it."""
    p = subprocess.Popen(list(cmd), start_new_session=True, **kw)
    with _running_lock:
        _running.add(p.pid)
    return p


def reap(p: subprocess.Popen, kill: bool = False) -> None:
    """Forget a process group; kill it first (the whole group) if asked."""
    if kill:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGKILL)
    with _running_lock:
        _running.discard(p.pid)


def kill_running() -> None:
    """Kill the user code of every datum still running in this process (the job was interrupted)."""
    with _running_lock:
        groups = list(_running)
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


def run_process(cmd, stdin: str | None, env: dict, cwd: str | None, timeout: float | None
                ) -> tuple[int | None, bytes]:
    """Run a command; stdout and stderr interleaved in one log. None exit code = timed out.

    Without transform.stdin the command reads an empty stdin, as in a worker pod (never the
    terminal pachlite was started from).
    """
    if not cmd:
        return 127, b"transform.cmd is empty"
    if cwd and not os.path.isdir(cwd):
        return 127, f"working directory {cwd} does not exist".encode()
    try:
        p = start_process(cmd, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    except FileNotFoundError:
        return 127, f"{cmd[0]}: command not found".encode()
    except PermissionError:
        return 126, f"{cmd[0]}: permission denied".encode()
    try:
        log, _ = p.communicate(stdin.encode() if stdin else None, timeout=timeout)
        return p.returncode, log
    except subprocess.TimeoutExpired:
        reap(p, kill=True)
        log, _ = p.communicate()
        return None, log
    finally:
        reap(p)


def process_datum(task: Task, root: Path, t: Transform, base_env: dict, objects_dir: Path,
                  runner=None) -> Outcome:
    """One try of one datum in its own scratch root (the per-process mode)."""
    datum_id, files, env = task
    pfs_root = root / "pfs"
    started = time.time()
    try:
        inputs = lay_out(pfs_root, files)
        local = t.mapped(str(pfs_root)) if runner is None else t
        full_env = {**base_env, **{k: (map_pfs(v, str(pfs_root)) if runner is None else v)
                                   for k, v in env.items()}, **local.env}
        if runner is None:
            code, log = run_process(local.cmd, local.stdin, full_env, t.cwd, t.timeout)
        else:
            code, log = runner(local.cmd, local.stdin, full_env, pfs_root, t.timeout)
        ok = code == 0 or (code is not None and code in t.accept)
        if not ok:
            why = (f"timed out after {t.timeout:g}s" if code is None
                   else f"command exited with code {code}")
            tail = log.decode(errors="replace").strip().splitlines()[-1:] if log else []
            return Outcome(datum_id, False, why + (f": {tail[0]}" if tail else ""), [], log,
                           started, time.time() - started)
        outputs, err = collect(pfs_root, objects_dir, inputs)
        return Outcome(datum_id, not err, err, outputs, log, started, time.time() - started)
    finally:
        clear(root)
