"""The `jobs` table: one row per job, its state, counts and input commits (Pachyderm's JobInfo).

`seq` orders a pipeline's jobs: its latest job, and its latest successful one (the base job whose
datums a new job compares with), are the rows of highest seq. A row's `id` is its key (datum
records and the output commit's key name it); `commit_set` is the id pachd shows: a job's id is
the id of the commit set it runs for, shared by every job of that set (one per pipeline).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from pachlite.store import datums

if TYPE_CHECKING:
    from pachlite.store.db import Handle, Tx


class JobRow(NamedTuple):
    id: str
    pipeline: str
    pipeline_version: int
    salt: str
    output_commit: str | None  # its key; None while running, or when the job was killed
    state: str
    reason: str
    created: float
    started: float | None
    finished: float | None
    processed: int
    skipped: int
    failed: int
    recovered: int
    total: int
    bytes_in: int
    bytes_out: int
    inputs: tuple[tuple[str, str, str], ...]  # (repo, branch, commit key) read; stored as JSON
    seq: int
    commit_set: str


# Rows are built by name: every SELECT lists the row type's fields, in their order.
_COLS = ", ".join(JobRow._fields)


def _row(r) -> JobRow | None:
    if r is None:
        return None
    row = JobRow._make(r)
    return row._replace(inputs=tuple(tuple(x) for x in json.loads(row.inputs)))


def get(s: Handle, job_id: str) -> JobRow | None:
    return _row(s.db.execute(f"SELECT {_COLS} FROM jobs WHERE id=?", (job_id,)).fetchone())


def find(s: Handle, pipeline: str, id_prefix: str) -> JobRow | None:
    """The job of the pipeline whose key, or else commit set, starts with id_prefix (the latest
    of the set: a killed job's set runs again)."""
    return _row(s.db.execute(f"SELECT {_COLS} FROM jobs WHERE pipeline=?1 AND "
                             "(commit_set LIKE ?2 || '%' OR id LIKE ?2 || '%') "
                             "ORDER BY id LIKE ?2 || '%' DESC, seq DESC",
                             (pipeline, id_prefix)).fetchone())


def of_set(s: Handle, commit_set: str) -> list[JobRow]:
    """The jobs of a commit set, in the order they were made (upstream first)."""
    return [_row(r) for r in s.db.execute(
        f"SELECT {_COLS} FROM jobs WHERE commit_set=? ORDER BY seq", (commit_set,))]


def delete(tx: Tx, job_id: str) -> None:
    """A job and its datum records (its commit set was squashed or dropped)."""
    datums.delete_job(tx, job_id)
    tx.db.execute("DELETE FROM jobs WHERE id=?", (job_id,))


def latest(s: Handle, pipeline: str, state: str | None = None) -> JobRow | None:
    """The pipeline's latest job (in that state, when given)."""
    return _row(s.db.execute(f"SELECT {_COLS} FROM jobs WHERE pipeline=?1 AND (?2 IS NULL OR "
                             "state=?2) ORDER BY seq DESC LIMIT 1", (pipeline, state)).fetchone())


def latest_ended(s: Handle, pipeline: str) -> JobRow | None:
    """The pipeline's latest job that ran to its end (not killed, nor running)."""
    return _row(s.db.execute(f"SELECT {_COLS} FROM jobs WHERE pipeline=? AND state NOT IN "
                             "('killed', 'running') ORDER BY seq DESC LIMIT 1",
                             (pipeline,)).fetchone())


def list_jobs(s: Handle, pipeline: str | None = None) -> list[JobRow]:
    """Every job (of the pipeline, when given), newest first."""
    return [_row(r) for r in s.db.execute(f"SELECT {_COLS} FROM jobs WHERE ?1 IS NULL OR "
                                          "pipeline=?1 ORDER BY seq DESC", (pipeline,))]


def insert(tx: Tx, job_id: str, pipeline: str, version: int, salt: str, state: str,
           inputs: Sequence[tuple[str, str, str]], *, created: float, started: float,
           finished: float | None = None, reason: str = "", commit_set: str | None = None) -> None:
    """A new job of `commit_set` (default: its own key), the pipeline's latest."""
    tx.db.execute("INSERT INTO jobs(id, pipeline, pipeline_version, salt, state, reason, created, "
                  "started, finished, inputs, seq, commit_set) VALUES(?,?,?,?,?,?,?,?,?,?,"
                  "(SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs),?)",
                  (job_id, pipeline, version, salt, state, reason, created, started, finished,
                   json.dumps(inputs), commit_set or job_id))


def set_state(tx: Tx, job_id: str, state: str, reason: str) -> None:
    """End a job that did not get to `finish` (it failed, was killed, or its process died)."""
    tx.db.execute("UPDATE jobs SET state=?, reason=?, finished=? WHERE id=?",
                  (state, reason, time.time(), job_id))


def set_output(tx: Tx, job_id: str, output_commit: str) -> None:
    tx.db.execute("UPDATE jobs SET output_commit=? WHERE id=?", (output_commit, job_id))


def finish(tx: Tx, job_id: str, state: str, reason: str, output_commit: str | None, *,
           processed: int, skipped: int, failed: int, recovered: int, total: int, bytes_in: int,
           bytes_out: int) -> None:
    """Record how a job ended: state, output commit, datum counts and bytes."""
    tx.db.execute("UPDATE jobs SET state=?, reason=?, finished=?, output_commit=?, processed=?, "
                  "skipped=?, failed=?, recovered=?, total=?, bytes_in=?, bytes_out=? WHERE id=?",
                  (state, reason, time.time(), output_commit, processed, skipped, failed,
                   recovered, total, bytes_in, bytes_out, job_id))
