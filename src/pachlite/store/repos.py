"""The `repos` table: one row per repo (Pachyderm's pfs.repos), and deleting a repo whole."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from pachlite.store.db import Handle, Tx


class RepoRow(NamedTuple):
    name: str
    created: float
    description: str
    kind: str  # "user" | "pipeline" (a pipeline's output repo)


# Rows are built by name: every SELECT lists the row type's fields, in their order.
_COLS = ", ".join(RepoRow._fields)


def get(s: Handle, name: str) -> RepoRow | None:
    row = s.db.execute(f"SELECT {_COLS} FROM repos WHERE name=?", (name,)).fetchone()
    return RepoRow._make(row) if row else None


def names(s: Handle) -> list[str]:
    """Every repo's name, sorted."""
    return [name for name, in s.db.execute("SELECT name FROM repos ORDER BY name")]


def list_repos(s: Handle) -> list[RepoRow]:
    """Newest first."""
    return [RepoRow._make(r) for r in s.db.execute(
        f"SELECT {_COLS} FROM repos ORDER BY created DESC")]


def insert(tx: Tx, name: str, description: str = "", kind: str = "user") -> None:
    tx.db.execute("INSERT INTO repos VALUES(?,?,?,?)", (name, time.time(), description, kind))


def delete_cascade(tx: Tx, name: str) -> None:
    """Delete a repo with its branches, commits, their files, change logs and provenance."""
    ids = "SELECT id FROM commits WHERE repo=?"
    for table in ("files", "changes", "change_logs"):
        tx.db.execute(f"DELETE FROM {table} WHERE commit_id IN ({ids})", (name,))
    # Provenance of other repos' commits that names this repo's commits goes as well: it would
    # point at nothing (Pachyderm asks for --force before getting here).
    tx.db.execute(f"DELETE FROM provenance WHERE commit_id IN ({ids}) OR prov_commit IN ({ids})",
                  (name, name))
    for table in ("commits", "branches", "triggers"):
        tx.db.execute(f"DELETE FROM {table} WHERE repo=?", (name,))
    tx.db.execute("DELETE FROM branch_provenance WHERE repo=? OR prov_repo=?", (name, name))
    tx.db.execute("DELETE FROM repos WHERE name=?", (name,))
