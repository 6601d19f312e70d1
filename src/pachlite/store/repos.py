"""The `repos` table: one row per repo (Pachyderm's pfs.repos), and deleting a repo whole.

A repo's `name` is its key: `project/name`, or a plain name in the default project."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, NamedTuple

from pachlite.store import files
from pachlite.store.projects import key_clause

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


def names(s: Handle, project: str | None = None) -> list[str]:
    """The key of every repo (of the project, when given), sorted."""
    where, args = key_clause(project)
    return [name for name, in s.db.execute(f"SELECT name FROM repos WHERE {where} ORDER BY name",
                                           args)]


def list_repos(s: Handle, project: str | None = None) -> list[RepoRow]:
    """Every repo (of the project, when given), newest first."""
    where, args = key_clause(project)
    return [RepoRow._make(r) for r in s.db.execute(
        f"SELECT {_COLS} FROM repos WHERE {where} ORDER BY created DESC", args)]


def insert(tx: Tx, name: str, description: str = "", kind: str = "user") -> None:
    tx.db.execute("INSERT INTO repos VALUES(?,?,?,?)", (name, time.time(), description, kind))


def delete_cascade(tx: Tx, name: str) -> None:
    """Delete a repo with its branches, commits, their files, change logs and provenance."""
    ids = "SELECT id FROM commits WHERE repo=?"
    # A repo's layers are its commits' alone (a commit starts from one of its own repo).
    layers = [r[0] for r in tx.db.execute(
        f"SELECT DISTINCT layer FROM commit_layers WHERE commit_id IN ({ids})", (name,))]
    for table in ("commit_layers", "changes", "change_logs"):
        tx.db.execute(f"DELETE FROM {table} WHERE commit_id IN ({ids})", (name,))
    files.drop_unused(tx, layers)
    # Provenance of other repos' commits that names this repo's commits goes as well: it would
    # point at nothing (Pachyderm asks for --force before getting here).
    tx.db.execute(f"DELETE FROM provenance WHERE commit_id IN ({ids}) OR prov_commit IN ({ids})",
                  (name, name))
    for table in ("commits", "branches", "triggers"):
        tx.db.execute(f"DELETE FROM {table} WHERE repo=?", (name,))
    tx.db.execute("DELETE FROM branch_provenance WHERE repo=? OR prov_repo=?", (name, name))
    tx.db.execute("DELETE FROM repos WHERE name=?", (name,))
