"""The `commits` and `provenance` tables: commits (Pachyderm's pfs.commits) and, for each, the
commits it was computed from (its provenance: a job's input commits, transitively).

A commit row's `id` is its key; `commit_set` is the id Pachyderm shows (the global id its
commit set shares, one commit per repo). A user's commit starts a set: its key is the set's id.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from pachlite.store import files

if TYPE_CHECKING:
    from pachlite.store.db import Handle, Tx


class CommitRow(NamedTuple):
    id: str
    repo: str
    branch: str | None
    parent: str | None
    origin: str             # "USER" | "AUTO" (a job's output)
    description: str
    started: float
    finished: float | None  # None while the commit is open
    size: int               # of its files, set when it is finished
    seq: int                # the order commits were made in, across repos
    commit_set: str         # the id pachd shows: the commit set this commit belongs to
    error: str              # why the job writing it failed ('' when it did not)


class Provenance(NamedTuple):
    repo: str
    branch: str | None
    commit: str


# Rows are built by name: every SELECT lists the row type's fields, in their order.
_COLS = ", ".join(CommitRow._fields)


def get(s: Handle, commit_id: str, repo: str | None = None) -> CommitRow | None:
    """A commit by id (only if it is in `repo`, when given)."""
    if repo is None:
        row = s.db.execute(f"SELECT {_COLS} FROM commits WHERE id=?", (commit_id,)).fetchone()
    else:
        row = s.db.execute(f"SELECT {_COLS} FROM commits WHERE id=? AND repo=?",
                           (commit_id, repo)).fetchone()
    return CommitRow._make(row) if row else None


def with_prefix(s: Handle, repo: str, prefix: str, limit: int = 6) -> list[str]:
    """The ids (commit set ids) in repo that start with prefix (a short commit id), at most limit
    of them."""
    return [r[0] for r in s.db.execute(
        "SELECT DISTINCT commit_set FROM commits WHERE repo=? AND commit_set >= ? AND commit_set < ? "
        "ORDER BY commit_set LIMIT ?",
        (repo, prefix, prefix + "g", limit))]


def list_all(s: Handle) -> list[CommitRow]:
    """Every commit of every repo, newest first."""
    return [CommitRow._make(r) for r in s.db.execute(f"SELECT {_COLS} FROM commits ORDER BY seq DESC")]


def in_repo(s: Handle, repo: str, commit: str) -> CommitRow | None:
    """The commit of `repo` that is `commit` (its set's id, or its key)."""
    row = s.db.execute(f"SELECT {_COLS} FROM commits WHERE repo=?1 AND commit_set=?2 UNION ALL "
                       f"SELECT {_COLS} FROM commits WHERE repo=?1 AND id=?2 LIMIT 1",
                       (repo, commit)).fetchone()
    return CommitRow._make(row) if row else None


def of_set(s: Handle, commit_set: str) -> list[CommitRow]:
    """The commits of a commit set, in the order they were made."""
    return [CommitRow._make(r) for r in s.db.execute(
        f"SELECT {_COLS} FROM commits WHERE commit_set=? ORDER BY seq", (commit_set,))]


def set_order(s: Handle, commit_set: str) -> int:
    """Where a commit set stands among sets: the place of its first commit (the one that
    started it)."""
    return s.db.execute("SELECT MIN(seq) FROM commits WHERE commit_set=?", (commit_set,)).fetchone()[0]


def children(s: Handle, commit_id: str) -> list[str]:
    return [r[0] for r in s.db.execute("SELECT id FROM commits WHERE parent=? ORDER BY seq",
                                       (commit_id,))]


def subvenant_sets(s: Handle, commit_set: str) -> list[str]:
    """Other commit sets with a commit computed from a commit of this set."""
    return [r[0] for r in s.db.execute(
        "SELECT DISTINCT c.commit_set FROM provenance p JOIN commits c ON c.id=p.commit_id "
        "JOIN commits src ON src.id=p.prov_commit WHERE src.commit_set=?1 AND c.commit_set!=?1 "
        "ORDER BY c.seq", (commit_set,))]


def list_commits(s: Handle, repo: str) -> list[CommitRow]:
    """A repo's commits, newest first."""
    return [CommitRow._make(r) for r in s.db.execute(
        f"SELECT {_COLS} FROM commits WHERE repo=? ORDER BY seq DESC", (repo,))]


def insert(tx: Tx, commit_id: str, repo: str, branch: str, parent: str | None, origin: str,
           description: str = "", commit_set: str | None = None) -> None:
    """An open commit, started now, of `commit_set` (default: a set of its own, id commit_id)."""
    tx.db.execute("INSERT INTO commits VALUES(?,?,?,?,?,?,?,NULL,0,"
                  "(SELECT COALESCE(MAX(seq), 0) + 1 FROM commits),?,'')",
                  (commit_id, repo, branch, parent, origin, description, time.time(),
                   commit_set or commit_id))


def finish(tx: Tx, commit_id: str, error: str = "") -> None:
    """Finish a commit now (with the error its job failed with, if any); its size was kept as
    its files were written, and its layers are compacted."""
    files.seal(tx, commit_id)
    tx.db.execute("UPDATE commits SET finished=?2, error=?3 WHERE id=?1",
                  (commit_id, time.time(), error))


def delete(tx: Tx, row: CommitRow, logged: bool) -> None:
    """Remove a commit: its children take its parent, a branch at it moves to its parent, and
    its files, provenance and change log go. A child's change log (paths changed since its
    parent) gains this commit's, or is dropped when this one had none (`logged`)."""
    db = tx.db
    for child in children(tx, row.id):
        if logged:
            db.execute("INSERT OR IGNORE INTO changes SELECT ?, path FROM changes WHERE commit_id=?",
                       (child, row.id))
        else:
            db.execute("DELETE FROM changes WHERE commit_id=?", (child,))
            db.execute("DELETE FROM change_logs WHERE commit_id=?", (child,))
    db.execute("UPDATE commits SET parent=? WHERE parent=?", (row.parent, row.id))
    db.execute("UPDATE branches SET head=? WHERE head=?", (row.parent, row.id))
    own = [layer for layer, _ in files.layers(tx, row.id)]
    for table, column in (("commit_layers", "commit_id"), ("changes", "commit_id"),
                          ("change_logs", "commit_id"), ("provenance", "commit_id"),
                          ("provenance", "prov_commit"), ("commits", "id")):
        db.execute(f"DELETE FROM {table} WHERE {column}=?", (row.id,))
    files.drop_unused(tx, own)  # (a child's layers include its parent's: they stay)


def set_description(tx: Tx, commit_id: str, description: str) -> None:
    tx.db.execute("UPDATE commits SET description=? WHERE id=?", (description, commit_id))


def provenance(s: Handle, commit_id: str) -> list[Provenance]:
    """The commits a commit was computed from, by repo."""
    return [Provenance._make(r) for r in s.db.execute(
        "SELECT repo, branch, prov_commit FROM provenance WHERE commit_id=? ORDER BY repo",
        (commit_id,))]


def provenance_shown(s: Handle, commit_id: str) -> list[Provenance]:
    """provenance(), each commit named by its commit set (the id pachd shows)."""
    return [Provenance._make(r) for r in s.db.execute(
        "SELECT p.repo, p.branch, c.commit_set FROM provenance p JOIN commits c ON "
        "c.id=p.prov_commit WHERE p.commit_id=? ORDER BY p.repo", (commit_id,))]


def add_provenance(tx: Tx, commit_id: str, prov: Iterable[tuple[str, str | None, str]]) -> None:
    """Record (repo, branch, commit) rows as what commit_id was computed from."""
    tx.db.executemany("INSERT OR IGNORE INTO provenance(commit_id, repo, branch, prov_commit) "
                      "VALUES(?,?,?,?)",
                      [(commit_id, repo, branch, c) for repo, branch, c in prov])
