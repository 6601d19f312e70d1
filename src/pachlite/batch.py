"""Datum batching for Python transforms: one process serves many datums.

The same API as Pachyderm's Python SDK (`python_pachyderm.batch_all_datums`): a pipeline with
`"datumBatching": true` starts its command once per worker, and the decorated function is called
once per datum, with that datum's files laid out under /pfs and its environment set. Outside a
batching worker the decorated function simply runs once, on the datum the environment describes,
so the same program works in every mode. A datum whose call raises (or calls sys.exit with a
non-zero code) fails alone; the process goes on serving the next datum. Literal "/pfs" paths in
the code are not rewritten locally: read inputs from the environment (`$<input>`) and take the
output folder as an argument (the command line's `/pfs/out` is rewritten).

    from pachlite.batch import batch_all_datums

    @batch_all_datums
    def main():
        for name in os.listdir(os.environ["attributes"]) ...

    if __name__ == "__main__":
        load_model()   # paid once per worker, not once per datum
        main()
"""

from __future__ import annotations

import contextlib
import io
import os
import time
import traceback
from collections.abc import Callable
from functools import wraps
from multiprocessing.connection import Connection
from pathlib import Path

from pachlite.errors import PachliteError
from pachlite.pps.executors.base import Outcome
from pachlite.pps.executors.scratch import Scratch, map_pfs

FD_VAR, ROOT_VAR, OBJECTS_VAR = "PACHLITE_BATCH_FD", "PACHLITE_PFS_ROOT", "PACHLITE_OBJECTS"


def batch_all_datums(user_code: Callable[..., None]) -> Callable[..., None]:
    @wraps(user_code)
    def wrapper(*args, **kwargs) -> None:
        fd = os.environ.get(FD_VAR)
        if fd is None:
            user_code(*args, **kwargs)
            return
        conn = Connection(int(fd))
        scratch = Scratch(Path(os.environ[ROOT_VAR]))
        objects_dir = Path(os.environ[OBJECTS_VAR])
        while True:
            try:
                tasks = conn.recv()
            except EOFError:
                return
            if tasks is None:
                return
            conn.send([_one(t, scratch, objects_dir, user_code, args, kwargs) for t in tasks])

    return wrapper


def _one(task, scratch: Scratch, objects_dir: Path, fn, args, kwargs) -> Outcome:
    datum_id, files, env = task
    started = time.time()
    root = scratch.root
    try:
        scratch.lay_out(files)
    except PachliteError as e:  # a damaged input: this datum fails, the worker goes on
        scratch.clear_inputs()
        return Outcome(datum_id, False, str(e), [], b"", started, time.time() - started)
    old_env = {k: os.environ.get(k) for k in env}
    os.environ.update({k: map_pfs(v, root) for k, v in env.items()})
    buf = io.StringIO()
    ok, reason = True, ""
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            fn(*args, **kwargs)
    except SystemExit as e:  # sys.exit(n) ends this datum as exit code n would end a process
        if e.code not in (None, 0):
            ok, reason = False, f"user code called sys.exit({e.code!r})"
    except Exception as e:  # user code's failure is the datum's failure, not the worker's
        ok, reason = False, f"{type(e).__name__}: {e}"
        buf.write(traceback.format_exc())
    outputs: list = []
    if ok:
        outputs, err = scratch.collect(objects_dir)
        ok, reason = not err, err
    scratch.reset()
    for k, v in old_env.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    return Outcome(datum_id, ok, reason, outputs, buf.getvalue().encode(), started,
                   time.time() - started)
