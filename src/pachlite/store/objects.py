"""Content-addressed objects: every file content and log, stored once under its SHA-256.

A content of at most INLINE_MAX bytes lives in the `objects` table (its `data` column); a larger
one is a read-only file objects/ab/<hash>, its row's `data` NULL. Why small ones live in SQLite:
a repo of 100,000 small files would otherwise cost 100,000 file creations and renames; inside one
transaction they cost one fsync and appear atomically with the commit that names them. Large
objects are written under a temporary name and renamed into place before the transaction that
references them, so a crash leaves at worst an unreferenced object file (the next put of that
content reuses it), never a reference to a missing or partial one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Iterable, Iterator

if TYPE_CHECKING:
    from pachlite.store.db import Handle, Tx

INLINE_MAX = 256 * 1024
CHUNK = 1 << 20

# (hash, size, data): data is the content when it is inlined, None when it is a file in objects/.
Object = tuple[str, int, "bytes | None"]


def hash_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def path(objects_dir: Path, h: str) -> Path:
    """Where a large object's file is."""
    return Path(objects_dir) / h[:2] / h


def write_large(objects_dir: Path, src: BinaryIO, first: bytes = b"") -> tuple[str, int, None]:
    """Stream a large content into objects/ (temp name, then rename); return (hash, size, None).

    Written under a temporary name, synced, and renamed before the transaction that refers to
    it commits: no commit ever names a partial object.
    """
    h = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=objects_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            chunk = first
            while chunk:
                h.update(chunk)
                out.write(chunk)
                size += len(chunk)
                chunk = src.read(CHUNK)
            out.flush()
            os.fsync(out.fileno())
        digest = h.hexdigest()
        dest = path(objects_dir, digest)
        if dest.exists():
            os.unlink(tmp)
        else:
            dest.parent.mkdir(exist_ok=True)
            os.chmod(tmp, 0o444)
            os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return digest, size, None


def read_content(objects_dir: Path, src: BinaryIO) -> Object:
    """Hash a content: small ones are returned to be inlined, large ones streamed to objects/."""
    head = src.read(INLINE_MAX + 1)
    while 0 < len(head) <= INLINE_MAX:  # a pipe or an unbuffered file may return less
        more = src.read(INLINE_MAX + 1 - len(head))
        if not more:
            break
        head += more
    if len(head) <= INLINE_MAX:
        return hash_bytes(head), len(head), head
    return write_large(objects_dir, src, head)


# ---- the objects table ---------------------------------------------------------------------------

def put(tx: Tx, objs: Iterable[Object]) -> None:
    """Insert (hash, size, data-or-None) rows; identical contents are stored once."""
    # In hash order, SQLite appends to its B-tree instead of inserting at random places.
    unique = sorted({o[0]: o for o in objs}.values())
    tx.db.executemany("INSERT OR IGNORE INTO objects VALUES(?,?,?)", unique)


def lookup(s: Handle, h: str) -> tuple[bool, bytes | None]:
    """(whether the object is stored, its inlined content or None when it is a file)."""
    row = s.db.execute("SELECT data FROM objects WHERE hash=?", (h,)).fetchone()
    return (False, None) if row is None else (True, row[0])


def inlined(s: Handle, hashes: list[str]) -> dict[str, bytes]:
    """The contents of those objects that are inlined (a job lays 10^5 of them out): one query
    per 900 hashes, under SQLite's limit of parameters per statement."""
    out: dict[str, bytes] = {}
    for i in range(0, len(hashes), 900):
        chunk = hashes[i:i + 900]
        out.update({h: d for h, d in s.db.execute(
            f"SELECT hash, data FROM objects WHERE hash IN ({','.join('?' * len(chunk))}) "
            "AND data IS NOT NULL", chunk)})
    return out


def scan(s: Handle) -> Iterator[Object]:
    """Every object row, for fsck."""
    yield from s.db.execute("SELECT hash, size, data FROM objects")
