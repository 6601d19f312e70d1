"""The `staged` table: layers of files written in chunks by a write too large to hold (`put file
-r` of 10^6 files, a first job's 10^6 outputs), each chunk in a transaction of its own. No commit
lists a staged layer, so nothing reads it, until the one transaction that gives it to a commit
(apply_staged): the commit still appears whole or not at all. A row names the layer's writer: a
layer whose process is gone (killed mid-write) is dropped by the next staging, the next job and
gc, and fsck ignores it; until then the objects its rows name stay referenced, so gc keeps them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from pachlite.errors import Conflict
from pachlite.store import files
from pachlite.store.files import FileRow

if TYPE_CHECKING:
    from pachlite.store.db import Handle, Tx


def stage(tx: Tx) -> int:
    """A new staged layer, this process's; those of processes that are gone are dropped."""
    drop_stale(tx)
    layer = tx.db.execute("INSERT INTO layers(rows) VALUES(0)").lastrowid
    tx.db.execute("INSERT INTO staged VALUES(?,?,?)", (layer, os.getpid(), time.time()))
    return layer


def drop_stale(tx: Tx) -> None:
    """Drop the staged layers of processes that are gone (killed mid-write)."""
    for layer, pid in tx.db.execute("SELECT layer, pid FROM staged").fetchall():
        if not _alive(pid):
            drop_staged(tx, layer)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _held(tx: Tx, layer: int) -> None:
    """Refuse to go on with a staged layer another process dropped (its pid seemed gone)."""
    if tx.db.execute("SELECT 1 FROM staged WHERE layer=?", (layer,)).fetchone() is None:
        raise Conflict(f"the files staged for this write (layer {layer}) were dropped by another "
                       "pachlite process", "run the command again")


def stage_rows(tx: Tx, layer: int, rows: Iterable[FileRow], *, first_wins: bool = False) -> int:
    """Add (path, hash, size) puts to a staged layer: a path put again replaces the row before
    (or, with first_wins, leaves it). Returns how many rows were written."""
    _held(tx, layer)
    verb = "IGNORE" if first_wins else "REPLACE"
    return tx.insert_rows(f"INSERT OR {verb} INTO files VALUES", [(layer, *r) for r in rows])


def drop_staged(tx: Tx, layer: int) -> None:
    tx.db.execute("DELETE FROM staged WHERE layer=?", (layer,))
    files.drop_unused(tx, [layer])


def apply_staged(tx: Tx, commit_id: str, layer: int) -> int:
    """Apply a staged layer's puts to an open commit, as apply_changes would: a commit whose own
    layer is still empty takes the staged layer as its own (no row copied). Returns how many
    paths were put."""
    db = tx.db
    _held(tx, layer)
    db.execute("DELETE FROM staged WHERE layer=?", (layer,))
    n, added = db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM files WHERE layer=?",
                          (layer,)).fetchone()
    top, depth = files.top_layer(tx, commit_id)
    replaced = 0
    if sum(rows for _, rows in files.layers(tx, commit_id)):  # sizes of the files replaced
        replaced = db.execute("SELECT COALESCE(SUM((SELECT f.size FROM commit_layers c JOIN files f "
                              "ON f.layer=c.layer AND f.path=s.path WHERE c.commit_id=? "
                              "ORDER BY c.depth DESC LIMIT 1)), 0) FROM files s WHERE s.layer=?",
                              (commit_id, layer)).fetchone()[0]
    if files.has_change_log(tx, commit_id):
        db.execute("INSERT OR IGNORE INTO changes SELECT ?, path FROM files WHERE layer=?",
                   (commit_id, layer))
    if not files.layer_rows(tx, top):
        db.execute("UPDATE commit_layers SET layer=? WHERE commit_id=? AND depth=?",
                   (layer, commit_id, depth))
        files.drop_unused(tx, [top])
        top = layer
    else:
        db.execute("INSERT OR REPLACE INTO files SELECT ?, path, hash, size FROM files WHERE layer=?",
                   (top, layer))
        files.drop_unused(tx, [layer])
    db.execute("UPDATE layers SET rows=(SELECT COUNT(*) FROM files WHERE layer=?1) WHERE id=?1",
               (top,))
    db.execute("UPDATE commits SET size=size+? WHERE id=?", (added - replaced, commit_id))
    return n


def layer_paths(s: Handle, layer: int) -> Iterator[str]:
    """The paths a layer holds, in order."""
    cur = s.db.cursor()
    cur.row_factory = None
    cur.execute("SELECT path FROM files WHERE layer=? ORDER BY path", (layer,))
    return (p for p, in cur)


def top_paths(s: Handle, commit_id: str) -> Iterator[str]:
    """The paths an open commit's own layer puts, in order."""
    cur = s.db.cursor()
    cur.row_factory = None
    cur.execute("SELECT f.path FROM commit_layers c JOIN files f ON f.layer=c.layer WHERE "
                "c.commit_id=? AND c.depth=(SELECT MAX(depth) FROM commit_layers WHERE commit_id=?) "
                "AND f.hash != '' ORDER BY f.path", (commit_id, commit_id))
    return (p for p, in cur)
