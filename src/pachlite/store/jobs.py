"""The `jobs` table: one row per job, its state, counts and input commits (Pachyderm's JobInfo).

`seq` orders a pipeline's jobs: its latest job, and its latest successful one (the base job whose
datums a new job compares with), are the rows of highest seq.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from pachlite.store.db import Handle, Tx


class JobRow(NamedTuple):
    id: str
    pipeline: str
    pipeline_version: int
    salt: str
    output_commit: str | None  # None unless the job succeeded
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
    inputs: tuple[tuple[str, str, str], ...]  # (repo, branch, commit) read; stored as JSON
    seq: int


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
    """A job of the pipeline whose id starts with id_prefix."""
    return _row(s.db.execute(f"SELECT {_COLS} FROM jobs WHERE pipeline=? AND id LIKE ?",
                             (pipeline, id_prefix + "%")).fetchone())


def latest(s: Handle, pipeline: str, state: str | None = None) -> JobRow | None:
    """The pipeline's latest job (in that state, when given)."""
    return _row(s.db.execute(f"SELECT {_COLS} FROM jobs WHERE pipeline=?1 AND (?2 IS NULL OR "
                             "state=?2) ORDER BY seq DESC LIMIT 1", (pipeline, state)).fetchone())


def list_jobs(s: Handle, pipeline: str | None = None) -> list[JobRow]:
    """Every job (of the pipeline, when given), newest first."""
    return [_row(r) for r in s.db.execute(f"SELECT {_COLS} FROM jobs WHERE ?1 IS NULL OR "
                                          "pipeline=?1 ORDER BY seq DESC", (pipeline,))]


def insert(tx: Tx, job_id: str, pipeline: str, version: int, salt: str, state: str,
           inputs: Sequence[tuple[str, str, str]], *, created: float, started: float,
           finished: float | None = None, reason: str = "") -> None:
    """A new job, the pipeline's latest."""
    tx.db.execute("INSERT INTO jobs(id, pipeline, pipeline_version, salt, state, reason, created, "
                  "started, finished, inputs, seq) VALUES(?,?,?,?,?,?,?,?,?,?,"
                  "(SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs))",
                  (job_id, pipeline, version, salt, state, reason, created, started, finished,
                   json.dumps(inputs)))


def set_state(tx: Tx, job_id: str, state: str, reason: str) -> None:
    """End a job that did not get to `finish` (it failed, was killed, or its process died)."""
    tx.db.execute("UPDATE jobs SET state=?, reason=?, finished=? WHERE id=?",
                  (state, reason, time.time(), job_id))


def finish(tx: Tx, job_id: str, state: str, reason: str, output_commit: str | None, *,
           processed: int, skipped: int, failed: int, recovered: int, total: int, bytes_in: int,
           bytes_out: int) -> None:
    """Record how a job ended: state, output commit, datum counts and bytes."""
    tx.db.execute("UPDATE jobs SET state=?, reason=?, finished=?, output_commit=?, processed=?, "
                  "skipped=?, failed=?, recovered=?, total=?, bytes_in=?, bytes_out=? WHERE id=?",
                  (state, reason, time.time(), output_commit, processed, skipped, failed,
                   recovered, total, bytes_in, bytes_out, job_id))
