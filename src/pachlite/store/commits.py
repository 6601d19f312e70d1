"""The `commits` and `provenance` tables: commits (Pachyderm's pfs.commits) and, for each, the
commits it was computed from (its provenance: a job's input commits, transitively)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

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
    """The ids in repo that start with prefix (a short commit id), at most limit of them."""
    return [r[0] for r in s.db.execute(
        "SELECT id FROM commits WHERE repo=? AND id >= ? AND id < ? ORDER BY id LIMIT ?",
        (repo, prefix, prefix + "g", limit))]


def list_all(s: Handle) -> list[CommitRow]:
    """Every commit of every repo, newest first."""
    return [CommitRow._make(r) for r in s.db.execute(f"SELECT {_COLS} FROM commits ORDER BY seq DESC")]


def list_commits(s: Handle, repo: str) -> list[CommitRow]:
    """A repo's commits, newest first."""
    return [CommitRow._make(r) for r in s.db.execute(
        f"SELECT {_COLS} FROM commits WHERE repo=? ORDER BY seq DESC", (repo,))]


def insert(tx: Tx, commit_id: str, repo: str, branch: str, parent: str | None, origin: str,
           description: str = "") -> None:
    """An open commit, started now."""
    tx.db.execute("INSERT INTO commits VALUES(?,?,?,?,?,?,?,NULL,0,"
                  "(SELECT COALESCE(MAX(seq), 0) + 1 FROM commits))",
                  (commit_id, repo, branch, parent, origin, description, time.time()))


def finish(tx: Tx, commit_id: str) -> None:
    """Finish a commit now; its size is that of its files."""
    tx.db.execute("UPDATE commits SET finished=?2, size=(SELECT COALESCE(SUM(size), 0) FROM files "
                  "WHERE commit_id=?1) WHERE id=?1", (commit_id, time.time()))


def set_description(tx: Tx, commit_id: str, description: str) -> None:
    tx.db.execute("UPDATE commits SET description=? WHERE id=?", (description, commit_id))


def provenance(s: Handle, commit_id: str) -> list[Provenance]:
    """The commits a commit was computed from, by repo."""
    return [Provenance._make(r) for r in s.db.execute(
        "SELECT repo, branch, prov_commit FROM provenance WHERE commit_id=? ORDER BY repo",
        (commit_id,))]


def add_provenance(tx: Tx, commit_id: str, prov: Iterable[tuple[str, str | None, str]]) -> None:
    """Record (repo, branch, commit) rows as what commit_id was computed from."""
    tx.db.executemany("INSERT OR IGNORE INTO provenance(commit_id, repo, branch, prov_commit) "
                      "VALUES(?,?,?,?)",
                      [(commit_id, repo, branch, c) for repo, branch, c in prov])
