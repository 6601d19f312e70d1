"""The `files` table: a commit's files as a stack of layers, and the change logs (`change_logs`,
`changes`) kept beside it.

A commit's files are the layers `commit_layers` lists, bottom (depth 0) to top: a path's row in
the highest layer that has it wins, and a row with an empty hash there is a deletion (a tombstone;
the bottom layer has none). A new commit shares its parent's layers and writes its changes to a
new top layer of its own, so a commit that differs from its parent by k files costs k rows, not a
copy of the parent's N (Pachyderm's commits are likewise filesets layered over their parent's,
compacted in the background: src/internal/storage/fileset). When a commit is finished its top
layers are compacted as a log-structured merge does: the top two merge while the upper one holds
at least half the rows of the one under it, so a commit has O(log N) layers and each file row is
rewritten O(log N) times over its life. Layers no commit lists any more are removed.

A commit started from its parent's files also logs the paths it changes, so that what changed
between two commits of a chain is read from the logs (delta planning does this for every job).

A commit's file list can be 10^6 rows: those queries return plain (path, hash, size) tuples.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pachlite.store.db import Handle, Tx

FileRow = tuple[str, str, int]  # (path, content hash, size)
GONE = ""  # a tombstone's hash
# Compaction: the top two layers merge while the upper holds at least 1/MERGE_RATIO of the rows
# of the one under it, or while a commit has more than MAX_LAYERS.
MERGE_RATIO = 2
MAX_LAYERS = 24


def _under(path: str) -> tuple[str, str, str]:
    # A path or everything under it as a directory: "/a" is "/a", or in ("/a/", "/a0") — '0'
    # follows '/' in the byte order, so the range is exactly the paths below "/a/".
    d = path.rstrip("/")
    return path, d + "/", d + "0"


def layers(s: Handle, commit_id: str) -> list[tuple[int, int]]:
    """(layer, rows) of a commit's layers, bottom first."""
    return s.db.execute("SELECT l.id, l.rows FROM commit_layers c JOIN layers l ON l.id=c.layer "
                        "WHERE c.commit_id=? ORDER BY c.depth", (commit_id,)).fetchall()


def _rows(s: Handle, layer: int, prefix: str) -> list[FileRow]:
    cur = s.db.cursor()
    cur.row_factory = None  # plain tuples: no Row object per file
    if prefix == "/":
        cur.execute("SELECT path, hash, size FROM files WHERE layer=? ORDER BY path", (layer,))
        return cur.fetchall()
    # The path itself, then what is under it (which sorts after it): two index ranges, where
    # one query's OR of them would scan the whole layer.
    path, low, high = _under(prefix)
    out = cur.execute("SELECT path, hash, size FROM files WHERE layer=? AND path=?",
                      (layer, path)).fetchall()
    return out + cur.execute("SELECT path, hash, size FROM files WHERE layer=? AND path>? AND "
                             "path<? ORDER BY path", (layer, low, high)).fetchall()


def list_files(s: Handle, commit_id: str, prefix: str = "/") -> list[FileRow]:
    """(path, hash, size) of every file at or under prefix, sorted by path."""
    stack = [layer for layer, _ in layers(s, commit_id)]
    if not stack:
        return []
    bottom = _rows(s, stack[0], prefix)
    if len(stack) == 1:
        return bottom
    above: dict[str, FileRow] = {}  # the upper layers' rows, the higher winning
    for layer in stack[1:]:
        above.update((r[0], r) for r in _rows(s, layer, prefix))
    if not above:
        return bottom
    out = [r for r in bottom if r[0] not in above]
    out += [r for r in above.values() if r[1] != GONE]
    out.sort()  # two sorted runs: the merge of a sort
    return out


def paths_below(s: Handle, commit_id: str, directory: str) -> list[str]:
    """The paths strictly under a directory (given without its trailing '/')."""
    return [p for p, _, _ in list_files(s, commit_id, directory + "/") if p != directory]


_LOOKUP = ("SELECT f.hash, f.size FROM commit_layers c JOIN files f ON f.layer=c.layer AND f.path=? "
           "WHERE c.commit_id=? ORDER BY c.depth DESC LIMIT 1")


def hash_of(s: Handle, commit_id: str, path: str) -> str | None:
    """The content hash of the file at path, None if there is none."""
    row = s.db.execute(_LOOKUP, (path, commit_id)).fetchone()
    return row[0] if row and row[0] != GONE else None


def exists(s: Handle, commit_id: str, path: str) -> bool:
    return hash_of(s, commit_id, path) is not None


def start(tx: Tx, commit_id: str, source: str | None) -> None:
    """Start a commit with another's files (its layers, shared: no file row is copied) and a top
    layer of its own for its changes; its size is the source's."""
    db = tx.db
    layer = db.execute("INSERT INTO layers(rows) VALUES(0)").lastrowid
    if source:
        # An open source's top layer is still written to: the new commit takes a copy of it.
        open_top = db.execute("SELECT MAX(l.depth) FROM commit_layers l JOIN commits c ON "
                              "c.id=l.commit_id WHERE c.id=? AND c.finished IS NULL",
                              (source,)).fetchone()[0]
        db.execute("INSERT INTO commit_layers SELECT ?, depth, layer FROM commit_layers "
                   "WHERE commit_id=? AND (?3 IS NULL OR depth < ?3)", (commit_id, source, open_top))
        if open_top is not None:
            db.execute("INSERT INTO files SELECT ?, f.path, f.hash, f.size FROM commit_layers l "
                       "JOIN files f ON f.layer=l.layer WHERE l.commit_id=? AND l.depth=?",
                       (layer, source, open_top))
            db.execute("UPDATE layers SET rows=(SELECT COUNT(*) FROM files WHERE layer=?1) "
                       "WHERE id=?1", (layer,))
        db.execute("UPDATE commits SET size=(SELECT size FROM commits WHERE id=?) WHERE id=?",
                   (source, commit_id))
    db.execute("INSERT INTO commit_layers SELECT ?1, COALESCE(MAX(depth), -1) + 1, ?2 "
               "FROM commit_layers WHERE commit_id=?1", (commit_id, layer))


def top_layer(tx: Tx, commit_id: str) -> tuple[int, int]:
    """(layer, depth) of an open commit's own layer."""
    return tx.db.execute("SELECT layer, depth FROM commit_layers WHERE commit_id=? "
                         "ORDER BY depth DESC LIMIT 1", (commit_id,)).fetchone()


def apply_changes(tx: Tx, commit_id: str, changes: Mapping[str, tuple[str, int] | None]) -> int:
    """Apply path → (hash, size) changes to an open commit's files (None deletes the path, or
    the directory: everything under it), logging them if the commit keeps a change log, and
    keeping its size. Returns how many paths were put."""
    db = tx.db
    logged = has_change_log(tx, commit_id)
    layer, depth = top_layer(tx, commit_id)
    size = 0
    for p in (p for p, v in changes.items() if v is None):
        gone = list_files(tx, commit_id, p)
        size -= sum(r[2] for r in gone)
        if depth == 0:  # a bottom layer holds no tombstones: its rows go
            db.executemany("DELETE FROM files WHERE layer=? AND path=?", [(layer, r[0]) for r in gone])
        else:
            db.executemany("INSERT OR REPLACE INTO files VALUES(?,?,?,0)",
                           [(layer, r[0], GONE) for r in gone])
        if logged:
            db.executemany("INSERT OR IGNORE INTO changes VALUES(?,?)", [(commit_id, r[0]) for r in gone])
    puts = [(layer, p, v[0], v[1]) for p, v in changes.items() if v is not None]
    if puts and (depth > 0 or layer_rows(tx, layer)):
        # The sizes of the files the puts replace, read before they are written.
        db.execute("CREATE TEMP TABLE IF NOT EXISTS put_paths(path TEXT PRIMARY KEY)")
        db.execute("DELETE FROM put_paths")
        db.executemany("INSERT OR IGNORE INTO put_paths VALUES(?)", [(r[1],) for r in puts])
        size -= db.execute("SELECT COALESCE(SUM((SELECT f.size FROM commit_layers c JOIN files f "
                           "ON f.layer=c.layer AND f.path=p.path WHERE c.commit_id=? "
                           "ORDER BY c.depth DESC LIMIT 1)), 0) FROM put_paths p",
                           (commit_id,)).fetchone()[0]
    db.executemany("INSERT OR REPLACE INTO files VALUES(?,?,?,?)", puts)
    size += sum(r[3] for r in puts)
    if logged:
        db.executemany("INSERT OR IGNORE INTO changes VALUES(?,?)", [(commit_id, r[1]) for r in puts])
    db.execute("UPDATE layers SET rows=(SELECT COUNT(*) FROM files WHERE layer=?1) WHERE id=?1",
               (layer,))
    db.execute("UPDATE commits SET size=size+? WHERE id=?", (size, commit_id))
    return len(puts)


def layer_rows(s: Handle, layer: int) -> int:
    return s.db.execute("SELECT rows FROM layers WHERE id=?", (layer,)).fetchone()[0]


def iter_files(s: Handle, commit_id: str, prefix: str = "/") -> Iterator[FileRow]:
    """list_files(commit_id, prefix) one row at a time, merged from its layers as SQLite reads
    them (each in path order): 10^6 files cost no list. The layers' statements read one snapshot
    (a connection's statements share its read transaction while one of them is active), and the
    stack is read again inside it: a commit compacted in between is read from its new stack."""
    stack = [layer for layer, _ in layers(s, commit_id)]
    while True:
        runs = [_layer_rows(s, layer, -depth, prefix) for depth, layer in enumerate(stack)]
        now = [layer for layer, _ in layers(s, commit_id)]
        if now == stack:
            break
        stack = now
    last = None
    for path, _, h, n in runs[0] if len(runs) == 1 else heapq.merge(*runs):
        if path != last:  # a path's highest layer comes first
            last = path
            if h != GONE:
                yield path, h, n


def _layer_rows(s: Handle, layer: int, depth: int, prefix: str) -> Iterator[tuple]:
    """_rows() of one layer as (path, depth, hash, size), its statement started (and so its
    snapshot taken) before this returns."""
    cur = s.db.cursor()
    cur.row_factory = None
    if prefix == "/":
        return cur.execute("SELECT path, ?, hash, size FROM files WHERE layer=? ORDER BY path",
                           (depth, layer))
    path, low, high = _under(prefix)
    itself = cur.execute("SELECT path, ?, hash, size FROM files WHERE layer=? AND path=?",
                         (depth, layer, path)).fetchall()
    below = s.db.cursor()
    below.row_factory = None
    below.execute("SELECT path, ?, hash, size FROM files WHERE layer=? AND path>? AND path<? "
                  "ORDER BY path", (depth, layer, low, high))
    return itertools.chain(itself, below)


def nested(paths: Iterable[str]) -> tuple[str, str] | None:
    """(a file, a path under it) among paths given in byte order, or None. A path's ancestors
    sort before it, and a path that is no prefix of the current one is a prefix of no later one:
    only the chain of prefixes of the current path is held."""
    chain: list[str] = []
    for p in paths:
        while chain and not p.startswith(chain[-1]):
            chain.pop()
        for a in chain:
            if p[len(a):len(a) + 1] == "/":
                return a, p
        chain.append(p)
    return None


def collision(s: Handle, commit_id: str, put: Iterable[str], count: int | None = None
              ) -> tuple[str, str] | None:
    """(a file, a path under it) if a path put into the commit is under a file, or a file has
    paths under it: k lookups for k paths put, whatever the commit's size (or, when k is a
    large part of it, one streamed pass over the commit's sorted paths). `count`: how many
    paths `put` gives, when it is not a list."""
    if count is None:
        put = list(put)
        count = len(put)
    total = sum(rows for _, rows in layers(s, commit_id))
    if count * 16 > total:
        return nested(p for p, _, _ in iter_files(s, commit_id))
    seen: set[str] = set()
    for p in put:
        d = p.rsplit("/", 1)[0]
        while d and d not in seen:
            seen.add(d)
            if exists(s, commit_id, d):
                return d, p
            d = d.rsplit("/", 1)[0]
        below = paths_below(s, commit_id, p)
        if below:
            return p, below[0]
    return None


def seal(tx: Tx, commit_id: str) -> None:
    """A commit being finished: its own layer goes if empty, and its top layers are compacted."""
    db = tx.db
    stack = layers(tx, commit_id)
    if stack and stack[-1][1] == 0:
        db.execute("DELETE FROM commit_layers WHERE commit_id=? AND layer=?", (commit_id, stack[-1][0]))
        drop_unused(tx, [stack.pop()[0]])
    while len(stack) > 1 and (stack[-1][1] * MERGE_RATIO >= stack[-2][1] or len(stack) > MAX_LAYERS):
        (lower, _), (upper, _) = stack[-2], stack[-1]
        merged = db.execute("INSERT INTO layers(rows) VALUES(0)").lastrowid
        # The lower's rows the upper does not replace, and the upper's (its tombstones too,
        # unless the merged layer is the bottom one: nothing under it to delete).
        db.execute("INSERT INTO files SELECT ?1, path, hash, size FROM files l WHERE layer=?2 AND "
                   "NOT EXISTS (SELECT 1 FROM files u WHERE u.layer=?3 AND u.path=l.path)",
                   (merged, lower, upper))
        db.execute("INSERT OR REPLACE INTO files SELECT ?1, path, hash, size FROM files "
                   "WHERE layer=?2 AND (?3 OR hash != '')", (merged, upper, len(stack) > 2))
        rows = db.execute("SELECT COUNT(*) FROM files WHERE layer=?", (merged,)).fetchone()[0]
        db.execute("UPDATE layers SET rows=? WHERE id=?", (rows, merged))
        depth = len(stack) - 2
        db.execute("DELETE FROM commit_layers WHERE commit_id=? AND depth>=?", (commit_id, depth))
        db.execute("INSERT INTO commit_layers VALUES(?,?,?)", (commit_id, depth, merged))
        stack[-2:] = [(merged, rows)]
        drop_unused(tx, (lower, upper))


def drop_unused(tx: Tx, candidates: Iterable[int]) -> None:
    """Remove those layers that no commit lists any more."""
    for layer in candidates:
        if tx.db.execute("SELECT 1 FROM commit_layers WHERE layer=? LIMIT 1", (layer,)).fetchone():
            continue
        tx.db.execute("DELETE FROM files WHERE layer=?", (layer,))
        tx.db.execute("DELETE FROM layers WHERE id=?", (layer,))


def size(s: Handle, commit_id: str) -> int:
    """The size of a commit's files, summed from its layers (fsck compares it with the row's)."""
    return sum(r[2] for r in iter_files(s, commit_id))


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
    before = {p: h for p, h, _ in list_files(s, old)}
    out = []
    for p, h, _ in list_files(s, new):
        if before.pop(p, None) != h:
            out.append(p)
    return (out + list(before))[:limit]
