"""The `pipelines` table: each pipeline's spec, salt and version (Pachyderm's PipelineInfo).

A pipeline's `name` is its key, as its output repo's: `project/name`, or a plain name in the
default project."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, NamedTuple

from pachlite.store.projects import key_clause

if TYPE_CHECKING:
    from pachlite.store.db import Handle, Tx


class PipelineRow(NamedTuple):
    name: str
    spec: dict       # as given, normalised (camelCase); stored as JSON
    salt: str        # part of every datum hash: a new salt reprocesses every datum
    version: int     # 1, then +1 per update
    created: float
    updated: float
    state: str
    reason: str


# Rows are built by name: every SELECT lists the row type's fields, in their order.
_COLS = ", ".join(PipelineRow._fields)


def _row(r) -> PipelineRow:
    row = PipelineRow._make(r)
    return row._replace(spec=json.loads(row.spec))


def get(s: Handle, name: str) -> PipelineRow | None:
    r = s.db.execute(f"SELECT {_COLS} FROM pipelines WHERE name=?", (name,)).fetchone()
    return _row(r) if r else None


def exists(s: Handle, name: str) -> bool:
    return s.db.execute("SELECT 1 FROM pipelines WHERE name=?", (name,)).fetchone() is not None


def names(s: Handle, project: str | None = None) -> list[str]:
    """The key of every pipeline (of the project, when given), sorted."""
    where, args = key_clause(project)
    return [name for name, in s.db.execute(
        f"SELECT name FROM pipelines WHERE {where} ORDER BY name", args)]


def list_pipelines(s: Handle, project: str | None = None) -> list[PipelineRow]:
    """Every pipeline (of the project, when given), newest first."""
    where, args = key_clause(project)
    return [_row(r) for r in s.db.execute(
        f"SELECT {_COLS} FROM pipelines WHERE {where} ORDER BY created DESC", args)]


def insert(tx: Tx, name: str, spec: dict, salt: str, now: float) -> None:
    """A new pipeline, at version 1."""
    tx.db.execute("INSERT INTO pipelines(name, spec, salt, version, created, updated) "
                  "VALUES(?,?,?,1,?,?)", (name, json.dumps(spec), salt, now, now))


def update(tx: Tx, name: str, spec: dict, salt: str, now: float) -> None:
    """A new spec and salt for a pipeline: its next version."""
    tx.db.execute("UPDATE pipelines SET spec=?, salt=?, version=version+1, updated=? WHERE name=?",
                  (json.dumps(spec), salt, now, name))


def set_state(tx: Tx, name: str, state: str, reason: str = "") -> None:
    """'running', or 'paused' for a stopped pipeline (pachd's PIPELINE_PAUSED)."""
    tx.db.execute("UPDATE pipelines SET state=?, reason=? WHERE name=?", (state, reason, name))


def delete_cascade(tx: Tx, name: str) -> None:
    """Delete a pipeline with its jobs and their datum records (not its output repo)."""
    # A pipeline's datum layers are its jobs' own and the merged ones they list.
    ids = "SELECT id FROM jobs WHERE pipeline=?1"
    tx.db.execute(f"DELETE FROM datums WHERE job_id IN ({ids}) OR job_id IN "
                  f"(SELECT layer FROM job_layers WHERE job_id IN ({ids}))", (name,))
    tx.db.execute(f"DELETE FROM datum_layers WHERE id IN ({ids}) OR id IN "
                  f"(SELECT layer FROM job_layers WHERE job_id IN ({ids}))", (name,))
    tx.db.execute(f"DELETE FROM job_layers WHERE job_id IN ({ids})", (name,))
    tx.db.execute("DELETE FROM jobs WHERE pipeline=?", (name,))
    tx.db.execute("DELETE FROM pipelines WHERE name=?", (name,))
