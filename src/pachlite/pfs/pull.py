"""What `get file -r -o DIR` writes: the files at or under a path of a commit, into a local folder,
named as pachctl 2.x names them (relative to that path), all of them or none.

Every file is first written into a staging folder beside or inside DIR; only when all of them
were read (each checked against its hash) do they move into place, so an error leaves no
half-written file. A stored path that would land outside DIR (through `..` or a link already in
DIR) is refused before anything moves.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from pachlite.errors import InvalidInput
from pachlite.pfs.address import Address
from pachlite.pfs.api import PFS


def pull(pfs: PFS, a: Address, out: str | Path) -> None:
    """Write the file or folder at address `a` under `out`.

    As pachctl: a folder's files go to out/<their path below the folder>, the files of `repo@c:/`
    to out/<their path>, and a single file to `out` itself. `out` is made if missing; files
    already in it stay unless a pulled file replaces them. The commit's files are written as they
    are read (10^6 of them are not listed first); what moves into an existing `out` is what the
    staging folder holds.
    """
    info = pfs.inspect_file(a)
    out = Path(out)
    if info.type == "file":
        _pull_one(pfs, a, info.hash, out)
        return
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"{out} is a file, not a folder", "name a folder (or a new path) with -o",
                           where=str(a))
    fresh = not out.exists()
    parent = (out.absolute().parent if fresh else out)
    if not parent.is_dir():
        raise InvalidInput(f"folder {parent} does not exist", "create it first or choose another -o",
                           where=str(a))
    base = info.path.rstrip("/")
    # info.commit is the id pachctl shows, its commit set's: the store's key may differ (a
    # pipeline's output commit made in its input's set).
    rows = pfs.iter_files(pfs.resolve(a).key, a.path or "/")
    top = None if fresh else out.resolve()
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=".pachlite-get-"))
    try:
        made = {staging}  # the staging folders made so far: a mkdir each, not one a file
        for path, h, _ in rows:
            rel = _relative(path, base, a)
            if not fresh:
                _check_inside(out, top, rel, a)
            dest = staging / rel
            if dest.parent not in made:
                dest.parent.mkdir(parents=True, exist_ok=True)
                made.add(dest.parent)
            with pfs.store.open_object(h, f"{a.repo}@{info.commit}:{base}/{rel}") as src, \
                    open(dest, "xb") as f:
                shutil.copyfileobj(src, f)
        if fresh:
            staging.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would become the folder's
            os.rename(staging, out)
        else:
            for folder, _, names in os.walk(staging):
                here = out / os.path.relpath(folder, staging)
                here.mkdir(parents=True, exist_ok=True)
                for name in names:
                    os.replace(os.path.join(folder, name), here / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _relative(path: str, base: str, a: Address) -> str:
    rel = path[len(base):].lstrip("/")
    parts = rel.split("/")
    if not rel or any(p in ("", ".", "..") for p in parts):
        raise InvalidInput(f"stored path {path!r} would land outside the output folder",
                           "get the files one by one, or fix the path in the repo", where=str(a))
    return rel


def _check_inside(out: Path, top: Path, rel: str, a: Address) -> None:
    """Before anything moves: a link already in `out` (resolved: `top`) must not carry a pulled
    file outside it, and no local file or folder may stand where the pulled tree needs the
    other kind."""
    dest = (out / rel).resolve()
    if dest != top and top not in dest.parents:
        raise InvalidInput(f"{out / rel} leads outside {out} (through a link)",
                           "remove the link, or choose another -o", where=str(a))
    if (out / rel).is_dir():
        raise InvalidInput(f"{out / rel} is a local folder where the repo has a file",
                           "move it away, or choose another -o", where=str(a))
    for folder in list(Path(rel).parents)[:-1]:  # each folder of rel inside out
        if (out / folder).exists() and not (out / folder).is_dir():
            raise InvalidInput(f"{out / folder} is a local file where the repo has a folder",
                               "move it away, or choose another -o", where=str(a))


def _pull_one(pfs: PFS, a: Address, h: str, out: Path) -> None:
    """One file to `out`: written aside and renamed, so `out` is never half-written."""
    d = out.absolute().parent
    if not d.is_dir():
        raise InvalidInput(f"folder {d} does not exist", "create it first or choose another -o",
                           where=str(a))
    if out.is_dir():
        raise InvalidInput(f"{out} is a folder", "name a file to write, or a new path", where=str(a))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".pachlite-get-")
    try:
        with os.fdopen(fd, "wb") as f, pfs.store.open_object(h, str(a)) as src:
            shutil.copyfileobj(src, f)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would become the file's
        os.replace(tmp, out)
    except BaseException:
        os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
