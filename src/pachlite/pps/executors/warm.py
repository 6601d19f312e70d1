"""Warm workers for Python transforms: `python3 script.py ARGS` without an interpreter per datum.

Pachyderm pays a container start per worker, not per datum; locally the cost to avoid is the
interpreter start and the imports (pandas alone is ~0.8 s). When a transform's command is
`python`/`python3` followed by a `.py` file and no stdin, each worker starts that interpreter once
as `python3 -c BOOT script.py ARGS` (BOOT runs `main` below); it compiles the script once and runs
it as `__main__` for each datum: fresh module globals, `sys.argv` and `os.environ` as the datum's,
stdout and stderr (file descriptors 1 and 2) captured into the datum's log, `sys.exit` codes
honoured. Modules the script imports stay loaded between datums, which is the point. Scripts that
keep state in imported modules between runs opt out with `PACHLITE_WARM_WORKERS=0`.
"""

from __future__ import annotations

import builtins
import os
import re
import sys
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path

from pachlite.errors import PachliteError
from pachlite.pps.executors.base import Outcome
from pachlite.pps.executors.scratch import Scratch, map_pfs

WARM_VAR = "PACHLITE_WARM_WORKERS"
# How a worker finds its job: the connection's fd, the scratch /pfs it lays datums out in (a host
# path), where user code sees that folder (/pfs in a private namespace, else the same host path),
# and the store's object folder.
FD_VAR, ROOT_VAR, VIEW_VAR, OBJECTS_VAR = ("PACHLITE_BATCH_FD", "PACHLITE_PFS_ROOT", "PACHLITE_PFS_VIEW",
                                           "PACHLITE_OBJECTS")
LOG_ROLL = 1 << 20
# Not `-m`: that puts the working folder first on sys.path while this module's imports run, so a
# user's `copy.py` or `types.py` there would be imported in place of the standard module. `-c`
# puts '' there instead (unless PYTHONSAFEPATH), taken off before importing anything; the modules
# loaded before are those `python3 script.py` has before its script's folder is on sys.path.
BOOT = ("import sys; m = set(sys.modules); getattr(sys.flags, 'safe_path', 0) or sys.path.pop(0); "
        "from pachlite.pps.executors.warm import main; main(m)")
_PYTHON = re.compile(r"python(3(\.\d+)?)?")


def python_script(cmd, stdin: str | None, cwd: str | None) -> str | None:
    """The script a transform runs, when it is a plain `python3 script.py ...` command."""
    if os.environ.get(WARM_VAR, "1") == "0":
        return None
    if len(cmd) < 2 or stdin or not _PYTHON.fullmatch(os.path.basename(cmd[0])):
        return None
    script = cmd[1]
    return script if script.endswith(".py") and (Path(cwd or ".") / script).is_file() else None


def warm_command(cmd, accept) -> list[str]:
    """How a worker starts: the transform's own interpreter, serving its script."""
    codes = ",".join(str(c) for c in sorted(accept))
    return [cmd[0], "-c", BOOT, codes, *cmd[1:]]


def main(startup: set[str]) -> None:
    """Entry of a worker process (`startup`: the modules loaded before BOOT ran): serve datums
    until the job closes the connection."""
    codes, script, *argv = sys.argv[1:]
    accept = frozenset(int(c) for c in codes.split(",") if c)
    conn = Connection(int(os.environ.pop(FD_VAR)))
    pfs_root = Path(os.environ.pop(ROOT_VAR))
    view = os.environ.pop(VIEW_VAR)
    objects = Path(os.environ.pop(OBJECTS_VAR))
    serve(conn, script, argv, dict(os.environ), pfs_root, view, objects, accept, startup)


def serve(conn, script: str, argv: list[str], env: dict, pfs_root: Path, view: str, objects: Path,
          accept: frozenset, startup: set[str]) -> None:
    environ = DatumEnviron(env, view)  # (imports ctypes: before the script's folder is on sys.path)
    path = os.path.abspath(script)
    with open(path, "rb") as f:
        code = compile(f.read(), path, "exec")
    sys.path.insert(0, os.path.dirname(path))  # as `python3 script.py` has it
    _unshadow(os.path.dirname(path), startup)
    log_fd = os.open(pfs_root.parent / "datum.log", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    isolated = view == "/pfs"  # then /pfs/.env is seen, as on a cluster
    scratch = Scratch(pfs_root, view=view if isolated else None, sealed=isolated)
    start = 0  # where the next datum's output begins in the log
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
            if start > LOG_ROLL:  # the log only grows while datums print; start over now and then
                os.ftruncate(log_fd, 0)
                start = os.lseek(log_fd, 0, os.SEEK_SET)
            try:
                scratch.lay_out(files)
                if isolated:
                    scratch.write_env(datum_env)
            except PachliteError as e:  # a damaged input: this datum fails, the worker goes on
                scratch.clear_inputs()
                results.append(Outcome(datum_id, False, str(e), [], b"", started, time.time() - started))
                continue
            environ.enter(datum_env)
            sys.argv = [script, *argv]
            rc = _exec(code, path)
            sys.stdout.flush()
            sys.stderr.flush()
            end = os.lseek(log_fd, 0, os.SEEK_CUR)
            log = os.pread(log_fd, end - start, start) if end > start else b""
            start = end
            ok, reason, outputs = rc == 0 or rc in accept, "", []
            if ok:
                outputs, reason = scratch.collect(objects)
                ok = not reason
            else:
                tail = log.decode(errors="replace").strip().splitlines()[-1:]
                reason = f"command exited with code {rc}" + (f": {tail[0]}" if tail else "")
            scratch.reset()
            results.append(Outcome(datum_id, ok, reason, outputs, log, started,
                                   time.time() - started))
        conn.send(results)


class DatumEnviron:
    """The environment each datum starts from: the worker's variables plus the datum's own, in
    os.environ and in the C environment its child processes inherit. Only what differs from the
    last datum's is set, unless the last datum's code changed os.environ: then all of it is reset
    (~50 calls). os.environ's mapping is a _Watched dict, which notes such a change as it is made
    (comparing a copy of it each datum cost ~2 µs).

    A datum's variables are set with putenv(3) on a buffer kept here until the variable next
    changes, not with os.putenv: that is setenv(3), and glibc's setenv keeps a copy of every
    value it is ever given, never freed (whoever read one may still hold it). A worker leaked
    each datum's path and id that way, ~75 bytes a variable: ~100 MB for each of the two workers
    of a job of 10^6 datums. (A pointer getenv(3) gave is good until the environment next changes, as POSIX has
    it: C code that kept one from an earlier datum was already wrong.)"""

    def __init__(self, env: dict, view: str):
        self.env, self.view = env, view
        self.last: dict = {}                # the last datum's own variables, as sent
        self.held: dict[str, bytes] = {}    # name → the b"NAME=value" the C side points into
        self.keys: dict[str, tuple] = {}    # name → (its key in os.environ, b"NAME="), or ()
        self.putenv = _putenv()
        # One _Watched mapping under os.environ, os.environb and posix.environ, which share it:
        # a datum that reloads os gets an os.environ built on posix.environ, the same mapping.
        self.data = data = _Watched(os.environ._data)  # type: ignore[attr-defined]
        data.changed = True  # the first datum starts from the worker's variables
        os.environ._data = data  # type: ignore[attr-defined]
        if hasattr(os, "environb"):
            os.environb._data = data
        if os.name == "posix":
            import posix
            posix.environ = data

    def enter(self, datum_env: dict) -> None:
        environ, data = os.environ, self.data
        if data.changed:
            for name in self.held:  # (one dropped from the mapping alone is still set in C)
                os.unsetenv(name)
            environ.clear()  # unsetenv: no buffer held here is pointed to after it
            environ.update(self.env)
            self.held.clear()
            self.last = {}
        data.changed = True  # until this datum's variables are all set (a failure resets all)
        last = self.last
        if last.keys() != datum_env.keys():
            for k in last.keys() - datum_env.keys():
                del environ[k]
                self.held.pop(k, None)
        view = self.view
        for k, v in datum_env.items():
            if last.get(k) != v:
                self._set(k, v if view == "/pfs" else map_pfs(v, view))
        self.last = datum_env
        data.changed = False  # (set by this method's own changes through os.environ)

    def _set(self, name: str, value: str) -> None:
        key = self.keys.get(name)
        if key is None:
            k = os.environ.encodekey(name)  # type: ignore[attr-defined]
            key = self.keys[name] = (k, k + b"=") if k and b"=" not in k and b"\0" not in k else ()
        val = value.encode(_FS_ENCODING, "surrogateescape")  # as os.environ encodes it
        if not key or self.putenv is None or b"\0" in val:
            os.environ[name] = value  # (os.environ's own checks and errors)
            return
        line = key[1] + val
        if self.putenv(line):  # ENOMEM
            raise MemoryError(f"putenv {name}")
        self.held[name] = line  # the C environment points into it until the next change
        dict.__setitem__(self.data, key[0], val)  # not a change the next datum must undo


class _Watched(dict):
    """os.environ's mapping, noting whether it was changed since DatumEnviron last cleared
    `changed` (os._Environ changes it by item assignment and deletion; code that reaches for
    os.environ._data may call any of dict's own changes)."""

    changed = False

    def _changes(method):  # noqa: N805 (applied in the class body below)
        def changing(self, *args, **kwargs):
            self.changed = True
            return method(self, *args, **kwargs)
        return changing

    __setitem__ = _changes(dict.__setitem__)
    __delitem__ = _changes(dict.__delitem__)
    __ior__ = _changes(dict.__ior__)
    clear = _changes(dict.clear)
    pop = _changes(dict.pop)
    popitem = _changes(dict.popitem)
    setdefault = _changes(dict.setdefault)
    update = _changes(dict.update)
    del _changes


_FS_ENCODING = sys.getfilesystemencoding()


def _putenv():
    """libc's putenv(3), or None where it cannot be called."""
    import ctypes  # (in the worker only)
    try:
        return ctypes.PyDLL(None).putenv  # (holding the GIL: it returns at once)
    except (OSError, AttributeError):
        return None


def _unshadow(folder: str, startup: set[str]) -> None:
    """Forget the modules this worker imported for itself that a module of the script's folder
    is named as (a `queue.py` beside the script): `python3 script.py` would import the folder's,
    which comes first on its sys.path (but not instead of one loaded at its start)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for n in names:
        mod = n[:-3] if n.endswith(".py") else n
        if mod in sys.modules and mod not in startup and (
                n.endswith(".py") or os.path.isfile(os.path.join(folder, n, "__init__.py"))):
            for loaded in [k for k in sys.modules if k == mod or k.startswith(mod + ".")]:
                del sys.modules[loaded]


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


if __name__ == "__main__":
    main()
