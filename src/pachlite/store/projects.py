"""The `projects` table: one row per project (Pachyderm's pfs.projects); repos and pipelines
belong to one by their keys (pfs/address.py)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from pachlite.store.db import Handle, Tx


class ProjectRow(NamedTuple):
    name: str
    created: float
    description: str


# Rows are built by name: every SELECT lists the row type's fields, in their order.
_COLS = ", ".join(ProjectRow._fields)


def get(s: Handle, name: str) -> ProjectRow | None:
    row = s.db.execute(f"SELECT {_COLS} FROM projects WHERE name=?", (name,)).fetchone()
    return ProjectRow._make(row) if row else None


def list_projects(s: Handle) -> list[ProjectRow]:
    """By name, as pachd lists them."""
    return [ProjectRow._make(r) for r in s.db.execute(f"SELECT {_COLS} FROM projects ORDER BY name")]


def insert(tx: Tx, name: str, description: str = "") -> None:
    tx.db.execute("INSERT INTO projects VALUES(?,?,?)", (name, time.time(), description))


def set_description(tx: Tx, name: str, description: str) -> None:
    tx.db.execute("UPDATE projects SET description=? WHERE name=?", (description, name))


def delete(tx: Tx, name: str) -> None:
    tx.db.execute("DELETE FROM projects WHERE name=?", (name,))


def key_clause(project: str | None, column: str = "name") -> tuple[str, tuple]:
    """The SQL condition (and its arguments) of the keys in `project` (None: every project): a
    key is `project/name`, or a plain name in the default project (pfs.address.DEFAULT_PROJECT,
    spelled out here: the store imports nothing above it)."""
    if project is None:
        return "1", ()
    if project == "default":
        return f"instr({column}, '/') = 0", ()
    return f"{column} LIKE ? ESCAPE '\\'", (project.replace("_", "\\_") + "/%",)
