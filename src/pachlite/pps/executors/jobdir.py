"""This user's scratch folders of jobs: where they live (tmpfs when there is one), whose they are.

A job's datums are laid out under a folder of its own here (scratch.py), so the folder must be
private: another user who could read or plant it would read the inputs and change the outputs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from pachlite.errors import PachliteError

SCRATCH_VAR = "PACHLITE_SCRATCH"


def scratch_dir() -> Path:
    """This user's private folder of job folders: tmpfs when there is one, since datums are many
    small writes. Made (or made again) 0700, and refused unless it is a real folder of ours: a
    folder another user made, or a symlink they planted, would let them read the inputs laid out
    in it and change the outputs collected from it."""
    env = os.environ.get(SCRATCH_VAR)
    if env:
        base = Path(env)
    else:
        shm = Path("/dev/shm")
        tmp = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
        base = tmp / f"pachlite-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        os.mkdir(base, 0o700)
    try:  # the folder itself, never what a symlink planted there points to
        fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        fd = None
    try:
        st = os.fstat(fd) if fd is not None else None
        problem = ("is not a folder" if st is None else
                   f"belongs to uid {st.st_uid}, not to you (uid {os.getuid()})"
                   if st.st_uid != os.getuid() else "")
        if not problem and st.st_mode & 0o077:
            os.fchmod(fd, 0o700)  # ours, made by an older pachlite that left it open
    finally:
        if fd is not None:
            os.close(fd)
    if problem:
        raise PachliteError(f"scratch folder {base} {problem}",
                            f"remove it (it may be another user's trap), or set ${SCRATCH_VAR} to a "
                            "folder of yours")
    return base


def job_scratch(job_id: str) -> Path:
    """A new folder for a job's datums, named unpredictably, 0700, in scratch_dir()."""
    return Path(tempfile.mkdtemp(prefix=f"{job_id}-", dir=scratch_dir()))


def remove_job_scratch(job_id: str) -> None:
    """Remove a job's scratch folder(s): when it ends, or after its process was killed."""
    base = scratch_dir()
    for d in base.glob(f"{job_id}-*"):
        shutil.rmtree(d, ignore_errors=True)
