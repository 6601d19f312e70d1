"""Content-addressed objects: every file content and log, stored once under its SHA-256.

A content of at most INLINE_MAX bytes lives in the `objects` table (its `data` column); a larger
one is a read-only file objects/ab/<hash>, its row's `data` NULL. Why small ones live in SQLite:
a repo of 100,000 small files would otherwise cost 100,000 file creations and renames; inside one
transaction they cost one fsync and appear atomically with the commit that names them. Large
objects are written under a temporary name and renamed into place before the transaction that
references them, so a crash leaves at worst an unreferenced object file, never a reference to a
missing or partial one.

Every read checks the content against its hash (CorruptObject names the object and the fix), and
a put of the same content again replaces a damaged copy: that is how a damaged object heals.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from pachlite.errors import PachliteError

if TYPE_CHECKING:
    from pachlite.store.db import Handle, Tx

INLINE_MAX = 256 * 1024
CHUNK = 1 << 20

# (hash, size, data): data is the content when it is inlined, None when it is a file in objects/.
Object = tuple[str, int, "bytes | None"]


def hash_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class CorruptObject(PachliteError):
    """A stored content that no longer matches its hash (a damaged disk, or an edit by hand)."""

    def __init__(self, h: str, where: str | None = None):
        held = f" (the content of {where})" if where else ""
        super().__init__(f"object {h}{held} is damaged: its content does not match its hash",
                         "put the file again ('pachlite put file REPO@BRANCH:/PATH -f FILE') to "
                         "heal it; 'pachlite fsck' lists every damaged object and the files "
                         "holding it")


def check(h: str, data: bytes, where: str | None = None) -> bytes:
    """data, if it is the content of object h."""
    if hash_bytes(data) != h:
        raise CorruptObject(h, where)
    return data


class Verified(io.RawIOBase):
    """A large object's file, read once: its hash is checked as it is read, and reading its end
    raises CorruptObject if the content was not the object's (no second pass over the file)."""

    def __init__(self, file: BinaryIO, h: str, where: str | None = None):
        self._f, self._h, self._where = file, h, where
        self._digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        n = self._f.readinto(buf)
        if n:
            self._digest.update(memoryview(buf)[:n])
        elif self._digest is not None:
            digest, self._digest = self._digest.hexdigest(), None
            if digest != self._h:
                raise CorruptObject(self._h, self._where)
        return n

    def close(self) -> None:
        self._f.close()
        super().close()


def open_file(objects_dir: Path, h: str, where: str | None = None) -> BinaryIO:
    """A large object's content, checked against its hash as it is read."""
    return io.BufferedReader(Verified(open(path(objects_dir, h), "rb", buffering=0), h, where))


def copy_object(src_path: str | Path, h: str, dest: str, where: str | None = None) -> None:
    """Copy object h's file to dest, checking its hash on the way (one pass: the bytes hashed
    are the bytes written; a damaged copy is removed)."""
    digest = hashlib.sha256()
    with open(src_path, "rb", buffering=0) as src, open(dest, "wb") as out:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != h:
        os.unlink(dest)
        raise CorruptObject(h, where)


def path(objects_dir: Path, h: str) -> Path:
    """Where a large object's file is."""
    return Path(objects_dir) / h[:2] / h


def write_large(objects_dir: Path, src: BinaryIO, first: bytes = b"") -> tuple[str, int, None]:
    """Stream a large content into objects/ (temp name, then rename); return (hash, size, None).

    Written under a temporary name, synced, and renamed before the transaction that refers to
    it commits: no commit ever names a partial object. The new file replaces one already there:
    that copy may be damaged, and a put of the content is how it heals (a rename, no extra read);
    the fresh file's time also tells `gc` that a put may be about to refer to it.
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

class MissingObject(PachliteError):
    """A large object's file that is gone, at the moment a commit would refer to it."""


def put(tx: Tx, objs: Iterable[Object], objects_dir: Path) -> None:
    """Insert (hash, size, data-or-None) rows; identical contents are stored once.

    A row already there whose content differs (a damaged copy: identical hashes mean identical
    contents) takes the new content. A large object's file must still exist: `gc` may have
    collected it since it was written, and this transaction would then refer to nothing.
    """
    # In hash order, SQLite appends to its B-tree instead of inserting at random places.
    unique = sorted({o[0]: o for o in objs}.values())
    for h, _, data in unique:
        if data is None and not path(objects_dir, h).exists():
            raise MissingObject(f"object {h} was removed (by 'pachlite gc') before the commit "
                                "that needs it was written", "run the command again")
    tx.insert_rows("INSERT INTO objects VALUES", unique, " ON CONFLICT(hash) DO UPDATE SET "
                   "size=excluded.size, data=excluded.data WHERE data IS NOT excluded.data")


def lookup(s: Handle, h: str) -> tuple[bool, bytes | None]:
    """(whether the object is stored, its inlined content or None when it is a file)."""
    row = s.db.execute("SELECT data FROM objects WHERE hash=?", (h,)).fetchone()
    return (False, None) if row is None else (True, row[0])


def inlined(s: Handle, hashes: list[str]) -> dict[str, bytes]:
    """The contents of those objects that are inlined (a job lays 10^5 of them out), each
    checked against its hash: one query per 900 hashes, under SQLite's limit of parameters per
    statement."""
    out: dict[str, bytes] = {}
    for i in range(0, len(hashes), 900):
        chunk = hashes[i:i + 900]
        out.update({h: check(h, d) for h, d in s.db.execute(
            f"SELECT hash, data FROM objects WHERE hash IN ({','.join('?' * len(chunk))}) "
            "AND data IS NOT NULL", chunk)})
    return out


def scan(s: Handle) -> Iterator[Object]:
    """Every object row, for fsck."""
    yield from s.db.execute("SELECT hash, size, data FROM objects")
