"""The `files` table, and the change logs (`change_logs`, `changes`) kept beside it.

Every commit is a full snapshot: one row per file (path, content hash, size), so reading any
commit is one indexed query. A commit started from its parent's files also logs the paths it
changes, so that what changed between two commits of a chain is read from the logs instead of
by comparing two whole file lists (delta planning does this for every job).

A commit's file list can be 10^5 rows: those queries return plain (path, hash, size) tuples.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pachlite.store.db import Handle, Tx

FileRow = tuple[str, str, int]  # (path, content hash, size)


def _under(path: str) -> tuple[str, str, str]:
    # A path or everything under it as a directory: "/a" is "/a", or in ("/a/", "/a0") — '0'
    # follows '/' in the byte order, so the range is exactly the paths below "/a/".
    d = path.rstrip("/")
    return path, d + "/", d + "0"


def list_files(s: Handle, commit_id: str, prefix: str = "/") -> list[FileRow]:
    """(path, hash, size) of every file at or under prefix, sorted by path."""
    cur = s.db.cursor()
    cur.row_factory = None  # plain tuples: no Row object per file
    if prefix == "/":
        cur.execute("SELECT path, hash, size FROM files WHERE commit_id=? ORDER BY path",
                    (commit_id,))
    else:
        p = prefix.rstrip("/")
        cur.execute("SELECT path, hash, size FROM files WHERE commit_id=? AND "
                    "(path=? OR (path>? AND path<?)) ORDER BY path", (commit_id, p, p + "/", p + "0"))
    return cur.fetchall()


def paths(s: Handle, commit_id: str) -> Iterator[str]:
    for path, in s.db.execute("SELECT path FROM files WHERE commit_id=?", (commit_id,)):
        yield path


def hash_of(s: Handle, commit_id: str, path: str) -> str | None:
    """The content hash of the file at path, None if there is none."""
    row = s.db.execute("SELECT hash FROM files WHERE commit_id=? AND path=?",
                       (commit_id, path)).fetchone()
    return row[0] if row else None


def exists(s: Handle, commit_id: str, path: str) -> bool:
    return s.db.execute("SELECT 1 FROM files WHERE commit_id=? AND path=?",
                        (commit_id, path)).fetchone() is not None


def paths_below(s: Handle, commit_id: str, directory: str) -> list[str]:
    """The paths strictly under a directory (given without its trailing '/')."""
    return [p for p, in s.db.execute("SELECT path FROM files WHERE commit_id=? AND path>? AND path<?",
                                     (commit_id, directory + "/", directory + "0"))]


def copy(tx: Tx, to_commit: str, from_commit: str) -> None:
    """Start a commit with another's files (10^5 rows: one INSERT…SELECT)."""
    tx.db.execute("INSERT INTO files SELECT ?, path, hash, size FROM files WHERE commit_id=?",
                  (to_commit, from_commit))


def apply_changes(tx: Tx, commit_id: str, changes: Mapping[str, tuple[str, int] | None]) -> int:
    """Apply path → (hash, size) changes to a commit's files (None deletes the path, or the
    directory: everything under it), logging them if the commit keeps a change log. Returns how
    many paths were put."""
    db = tx.db
    logged = has_change_log(tx, commit_id)
    for p in (p for p, v in changes.items() if v is None):
        where = (commit_id, *_under(p))
        if logged:
            db.execute("INSERT OR IGNORE INTO changes SELECT commit_id, path FROM files "
                       "WHERE commit_id=? AND (path=? OR (path>? AND path<?))", where)
        db.execute("DELETE FROM files WHERE commit_id=? AND (path=? OR (path>? AND path<?))", where)
    puts = [(commit_id, p, v[0], v[1]) for p, v in changes.items() if v is not None]
    db.executemany("INSERT OR REPLACE INTO files VALUES(?,?,?,?)", puts)
    if logged:
        db.executemany("INSERT OR IGNORE INTO changes VALUES(?,?)", [r[:2] for r in puts])
    return len(puts)


# ---- change logs ----------------------------------------------------------------------------

def start_change_log(tx: Tx, commit_id: str) -> None:
    """Log the paths this commit changes relative to its parent (it starts with its files)."""
    tx.db.execute("INSERT INTO change_logs VALUES(?)", (commit_id,))


def has_change_log(s: Handle, commit_id: str) -> bool:
    return s.db.execute("SELECT 1 FROM change_logs WHERE commit_id=?",
                        (commit_id,)).fetchone() is not None


def logged_changes(s: Handle, commit_ids: list[str], limit: int) -> list[str]:
    """The distinct paths the logs of those commits name (at most `limit`)."""
    return [p for p, in s.db.execute(
        f"SELECT DISTINCT path FROM changes WHERE commit_id IN ({','.join('?' * len(commit_ids))}) "
        "LIMIT ?", (*commit_ids, limit))]


def differing_paths(s: Handle, old: str, new: str, limit: int) -> list[str]:
    """Paths added, removed or rewritten between two commits, by comparing their file lists (at
    most `limit`)."""
    return [p for p, in s.db.execute(
        "SELECT n.path FROM files n LEFT JOIN files o ON o.commit_id=?1 AND o.path=n.path "
        "WHERE n.commit_id=?2 AND (o.hash IS NULL OR o.hash != n.hash) "
        "UNION ALL SELECT o.path FROM files o WHERE o.commit_id=?1 AND NOT EXISTS "
        "(SELECT 1 FROM files n WHERE n.commit_id=?2 AND n.path=o.path) LIMIT ?3",
        (old, new, limit))]
