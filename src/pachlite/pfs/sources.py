"""What `put file -f` reads: local files, folders (with -r) and stdin, named as pachctl 2.x names
them; links are followed only while they stay inside the uploaded folder."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pachlite.errors import InvalidInput
from pachlite.pfs import address as addr


@dataclass(slots=True)  # one per file of a folder put (10^6 of them): no __dict__ each
class Source:
    """One content to put: `dest` in the repo, read from `local` (a path) or `stream`."""
    dest: str
    local: str | Path | None = None
    stream: BinaryIO | None = None


def collect_sources(dest: str | None, locals_: Sequence[str], recursive: bool,
                    where: str) -> list[Source]:
    """Expand `-f` arguments into Sources, as `pachctl put file` (2.x) names them.

    No path given (dest None): each source goes to /<its base name>, a directory with `-r` to
    /<dir>/... . A path and one source: the file goes to that path, a directory's contents go
    under it (`/` as the path means "into the root", keeping a file's base name). A path and
    several sources: each goes to <path>/<its base name>. `-f -` reads stdin and needs a path.
    Symlinks are followed only while they stay inside the uploaded directory.
    """
    out: list[Source] = []
    one = len(locals_) == 1 and dest is not None
    for local in locals_:
        if local == "-":
            if not one or dest == "/":
                raise InvalidInput("-f - (stdin) needs a file path and no other -f",
                                   "give one, e.g. repo@master:/data.csv -f -", where=where)
            out.append(Source(dest, stream=sys.stdin.buffer))
            continue
        p = Path(local)
        if not p.exists():
            raise InvalidInput(f"local file {local!r} does not exist",
                               "check the path given to -f", where=where)
        # abspath, not resolve: a link keeps its own name, as filepath.Base gives it in pachctl.
        named = (dest or "").rstrip("/") + "/" + _utf8_name(Path(os.path.abspath(p)), where)
        if p.is_dir():
            if not recursive:
                raise InvalidInput(f"{local!r} is a directory", "add -r to upload it recursively",
                                   where=where)
            out.extend(_walk(p, dest if one else named, where))
        else:
            out.append(Source(addr.clean_path(dest if one and dest != "/" else named, where),
                              local=p))
    return out


def open_local(path: str | Path, where: str) -> BinaryIO:
    try:
        # Unbuffered: one read() takes a small file whole, without a buffer object per file.
        return open(path, "rb", buffering=0)
    except OSError as e:
        raise InvalidInput(f"cannot read local file {str(path)!r}: {e.strerror}",
                           "check that it exists and is readable", where=where) from None


def _utf8_name(entry: os.DirEntry | Path, where: str) -> str:
    """A local file's name, which must be text: Pachyderm stores any bytes, but pachlite's store
    keeps paths as text, so a name that is not UTF-8 is refused before anything is stored."""
    try:
        entry.name.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(str(getattr(entry, "path", entry))).decode("utf-8", "backslashreplace")
        raise InvalidInput(f"local file name {shown} is not valid UTF-8",
                           "rename it (e.g. convmv -f latin1 -t utf8 -r DIR --notest), then put it again",
                           where=where) from None
    return entry.name


def _walk(top: Path, dest: str, where: str) -> list[Source]:
    """Every file under top, at dest/<relative path>, sorted; refuse links leaving top."""
    real_top = os.path.realpath(top)
    out: list[Source] = []
    stack = [(str(top), addr.clean_path(dest, where).rstrip("/"))]
    while stack:
        d, rel = stack.pop()
        with os.scandir(d) as it:
            for e in it:
                name = rel + "/" + _utf8_name(e, where)
                if e.is_symlink():
                    real = os.path.realpath(e.path)
                    if not (real == real_top or real.startswith(real_top + os.sep)):
                        raise InvalidInput(f"symlink {e.path} points outside {top} (to {real})",
                                           "copy the target into the directory or remove the link",
                                           where=where)
                    if not os.path.exists(real):
                        raise InvalidInput(f"symlink {e.path} is broken (its target {real} does "
                                           "not exist)", "remove the link or restore its target",
                                           where=where)
                    if os.path.isdir(real):
                        here = os.path.realpath(d)
                        if here == real or here.startswith(real + os.sep):
                            raise InvalidInput(f"symlink {e.path} loops back to {real}",
                                               "remove the link", where=where)
                        stack.append((e.path, name))
                    else:
                        out.append(Source(name, local=e.path))
                elif e.is_dir():
                    stack.append((e.path, name))
                elif e.is_file():
                    out.append(Source(name, local=e.path))
    out.sort(key=lambda s: s.dest)
    return out
