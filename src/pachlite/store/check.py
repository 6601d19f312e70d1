"""fsck: every problem of a store — objects whose content does not match their hash, and rows
that name something missing (a file's content, a commit's parent or repo, a branch's head); and
gc: removing the objects nothing refers to.

(The module is not named fsck.py: importing it would then make `pachlite.store.fsck` the module,
not this function.)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from dataclasses import dataclass

from pachlite.store import files, objects, staged
from pachlite.store.db import Handle, Store

# Each query lists the rows with one kind of dangling reference, one name per row.
_CHECKS = [
    ("SELECT DISTINCT f.hash FROM files f LEFT JOIN objects o ON o.hash=f.hash "
     "WHERE o.hash IS NULL AND f.hash != ''", "file content {} is referenced but not stored"),
    ("SELECT DISTINCT l.commit_id FROM commit_layers l LEFT JOIN commits c ON c.id=l.commit_id "
     "WHERE c.id IS NULL", "files belong to missing commit {}"),
    ("SELECT l.commit_id || ' at depth ' || l.depth FROM commit_layers l LEFT JOIN layers y "
     "ON y.id=l.layer WHERE y.id IS NULL", "commit layer {} is missing"),
    ("SELECT DISTINCT f.layer FROM files f LEFT JOIN layers y ON y.id=f.layer WHERE y.id IS NULL",
     "files belong to missing layer {}"),
    # A staged layer (staged.stage) is no commit's yet, and counts its rows only when it is given
    # to one; one a killed process left is dropped by the next staging or gc.
    ("SELECT y.id FROM layers y WHERE y.rows != (SELECT COUNT(*) FROM files WHERE layer=y.id) "
     "AND y.id NOT IN (SELECT layer FROM staged)", "layer {} row count does not match its files"),
    ("SELECT y.id FROM layers y WHERE NOT EXISTS (SELECT 1 FROM commit_layers WHERE layer=y.id) "
     "AND y.id NOT IN (SELECT layer FROM staged)", "layer {} belongs to no commit"),
    ("SELECT l.job_id || ' at depth ' || l.depth FROM job_layers l LEFT JOIN datum_layers y "
     "ON y.id=l.layer WHERE y.id IS NULL", "job datum layer {} is missing"),
    ("SELECT y.id FROM datum_layers y WHERE y.rows != (SELECT COUNT(*) FROM datums WHERE job_id=y.id)",
     "datum layer {} row count does not match its records"),
    ("SELECT DISTINCT d.job_id FROM datums d WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE id=d.job_id) "
     "AND NOT EXISTS (SELECT 1 FROM job_layers WHERE layer=d.job_id)",
     "datum records of layer {} belong to no job"),
    ("SELECT d.job_id || ' ' || d.id FROM datums d WHERE d.inputs='' AND d.state != '' AND NOT "
     "EXISTS (SELECT 1 FROM datums s WHERE s.job_id=d.source_job AND s.id=d.id)",
     "datum record {} carries a missing record"),
    ("SELECT l.commit_id FROM commit_layers l JOIN files f ON f.layer=l.layer "
     "WHERE l.depth=0 AND f.hash='' GROUP BY l.commit_id",
     "commit {} has a deletion in its bottom layer"),
    ("SELECT c.id FROM commits c LEFT JOIN commits p ON p.id=c.parent "
     "WHERE c.parent IS NOT NULL AND p.id IS NULL", "commit {} has a missing parent"),
    ("SELECT b.repo || '@' || b.name FROM branches b LEFT JOIN commits c ON c.id=b.head "
     "WHERE b.head IS NOT NULL AND c.id IS NULL", "branch {} points at a missing commit"),
    ("SELECT c.id FROM commits c LEFT JOIN repos r ON r.name=c.repo WHERE r.name IS NULL",
     "commit {} belongs to a missing repo"),
    ("SELECT b.repo || '@' || b.name FROM branches b LEFT JOIN repos r ON r.name=b.repo "
     "WHERE r.name IS NULL", "branch {} belongs to a missing repo"),
    ("SELECT r.name FROM repos r LEFT JOIN projects p ON p.name = CASE instr(r.name, '/') "
     "WHEN 0 THEN 'default' ELSE substr(r.name, 1, instr(r.name, '/') - 1) END "
     "WHERE p.name IS NULL", "repo {} belongs to a missing project"),
    ("SELECT c.id FROM commits c JOIN commits p ON p.id=c.parent WHERE p.repo != c.repo",
     "commit {} has a parent in another repo"),
    ("SELECT p.commit_id || ' -> ' || p.prov_commit FROM provenance p "
     "LEFT JOIN commits c ON c.id=p.prov_commit WHERE c.id IS NULL",
     "provenance {} names a missing commit"),
]


def fsck(store: Store) -> list[str]:
    """Every problem in the store: bad object hashes, dangling references. Empty means clean."""
    problems = [f"database: {r[0]}" for r in store.db.execute("PRAGMA quick_check")
                if r[0] != "ok"]
    for h, size, data in objects.scan(store):
        if data is not None:
            if objects.hash_bytes(data) != h or len(data) != size:
                problems.append(f"object {h}: stored content does not match its hash"
                                + _held_by(store, h))
            continue
        p = store.object_path(h)
        if not p.exists():
            # A gc stopped between removing the file and committing leaves the row of an object
            # nothing refers to: no content is lost, and the next gc removes the row.
            if _referenced(store, h):
                problems.append(f"object {h}: file {p} is missing" + _held_by(store, h))
            continue
        d, n = hashlib.sha256(), 0
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(objects.CHUNK), b""):
                d.update(chunk)
                n += len(chunk)
        if d.hexdigest() != h or n != size:
            problems.append(f"object {h}: file content does not match its hash"
                            + _held_by(store, h))
    for sql, msg in _CHECKS:
        problems += [msg.format(name) for name, in store.db.execute(sql)]
    # Each commit's files, merged from its layers, against its size: O(files) per commit.
    for cid, size in store.db.execute("SELECT id, size FROM commits").fetchall():
        if files.size(store, cid) != size:
            problems.append(f"commit {cid} size does not match its files")
    return problems


def _held_by(store: Store, h: str) -> str:
    held = [f"{repo}@{branch or cid}:{path}" for repo, branch, cid, path in store.db.execute(
        "SELECT c.repo, c.branch, c.id, f.path FROM files f JOIN commit_layers l ON "
        "l.layer=f.layer JOIN commits c ON c.id=l.commit_id WHERE f.hash=? "
        "GROUP BY c.id, f.path ORDER BY c.seq DESC LIMIT 3", (h,))]
    return f" (held by {', '.join(held)}; put the file again to heal it)" if held else ""


# ---- gc -----------------------------------------------------------------------------------------

# Every content something refers to: a commit's file, a datum's log, a datum's output (a failed
# or stopped job's finished datums keep theirs, and a later job reuses them).
_REFERENCED = """
    SELECT hash FROM files
    UNION SELECT log_hash FROM datums WHERE log_hash IS NOT NULL
    UNION SELECT json_extract(o.value, '$[1]') FROM datums d, json_each(d.outputs) o
        WHERE d.outputs NOT IN ('', '[]')
"""


def _referenced(s: Handle, h: str) -> bool:
    return s.db.execute(f"SELECT 1 FROM ({_REFERENCED}) WHERE hash=?", (h,)).fetchone() is not None


@dataclass(frozen=True)
class Collected:
    objects: int  # objects removed (on a dry run: that would be removed)
    size: int     # their bytes
    kept: int     # unreferenced objects kept: written too recently (a put or job may need them)


# How old an unreferenced object file must be for gc to remove it: a put writes its objects
# before the commit that refers to them, and one of a large folder takes minutes.
MIN_AGE_S = 3600.0


def gc(store: Store, *, dry_run: bool = False, min_age: float = MIN_AGE_S) -> Collected:
    """Remove the objects no commit, datum log or datum output refers to, and the object files
    left by interrupted writes.

    A put or a job writes its large objects before the transaction that refers to them, so an
    unreferenced object file may be about to be referenced: gc keeps every one written less than
    `min_age` seconds before it started, or since the oldest running job started. Should a put
    outlast that, its commit finds the object gone and refuses (objects.MissingObject) rather
    than refer to nothing. The rows are deleted and the files removed inside one write
    transaction: no commit can start referring to an object while it goes.
    """
    if dry_run:
        return _collect(store, store, min_age, remove=False)
    with store.transaction() as tx:
        staged.drop_stale(tx)  # what a killed put or job staged: the objects it named may go
        return _collect(store, tx, min_age, remove=True)


def _collect(store: Store, s: Handle, min_age: float, remove: bool) -> Collected:
    start = time.time()
    running = s.db.execute("SELECT MIN(created) FROM jobs WHERE state='running'").fetchone()[0]
    cutoff = min(start - min_age, running if running is not None else start)
    gone, unlinked, kept = [], [], 0
    size = 0
    for h, n, is_file in s.db.execute(
            f"SELECT hash, size, data IS NULL FROM objects WHERE hash NOT IN ({_REFERENCED})"):
        if is_file:
            if _mtime(store.object_path(h)) >= cutoff:
                kept += 1
                continue
            unlinked.append(store.object_path(h))
        gone.append(h)
        size += n
    known = {h for h, in s.db.execute("SELECT hash FROM objects WHERE data IS NULL")}
    strays = [p for p in _object_files(store) if p.name not in known and _mtime(p) < cutoff]
    size += sum(_size(p) for p in strays)
    if remove:
        s.db.executemany("DELETE FROM objects WHERE hash=?", [(h,) for h in gone])
        for p in [*unlinked, *strays]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(p)
    return Collected(len(gone) + len(strays), size, kept)


def _object_files(store: Store):
    """Every file under objects/: object files and the temporary files of interrupted writes."""
    with os.scandir(store.objects_dir) as top:
        for e in top:
            if e.is_dir(follow_symlinks=False):
                with os.scandir(e.path) as it:
                    yield from (store.objects_dir / e.name / f.name for f in it)
            else:
                yield store.objects_dir / e.name


def _mtime(p) -> float:
    try:
        return os.stat(p).st_mtime
    except FileNotFoundError:
        return float("-inf")


def _size(p) -> int:
    try:
        return os.stat(p).st_size
    except FileNotFoundError:
        return 0
