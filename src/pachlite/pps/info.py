"""What PPS reports of its jobs and datums (pachctl's JobInfo and DatumInfo)."""

from __future__ import annotations

from dataclasses import dataclass

from pachlite.pps.states import DatumState, JobState
from pachlite.store.jobs import JobRow


@dataclass(frozen=True)
class JobInfo:
    """A job as pachctl shows it: `id` is its commit set's id (pachd's job id, which its output
    commit shares), `key` the store's key for it (its datum records name it)."""
    id: str
    pipeline: str
    state: JobState
    reason: str
    output_commit: str | None  # the key of its output commit (none if killed)
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
    inputs: tuple[tuple[str, str, str], ...]  # (repo, branch, commit key)
    key: str = ""
    version: int = 0  # of its pipeline, that ran it

    @property
    def progress(self) -> str:
        s = f"{self.processed} + {self.skipped}"
        if self.recovered:
            s += f" + {self.recovered}"
        return f"{s} / {self.total}"

    @property
    def duration(self) -> float | None:
        return (self.finished - self.started) if self.finished and self.started else None


@dataclass(frozen=True)
class DatumInfo:
    job_id: str
    id: str
    state: DatumState
    reason: str
    hash: str
    inputs: tuple[str, ...]  # repo@commit:/path
    outputs: tuple[tuple[str, str, int], ...]
    started: float | None
    duration: float | None
    source_job: str  # the id of the job that processed it


def job_from_row(r: JobRow) -> JobInfo:
    return JobInfo(r.commit_set, r.pipeline, JobState(r.state), r.reason, r.output_commit,
                   r.created, r.started, r.finished, r.processed, r.skipped, r.failed, r.recovered,
                   r.total, r.bytes_in, r.bytes_out, r.inputs, r.id, r.pipeline_version)
