"""What PPS reports of its jobs and datums (pachctl's JobInfo and DatumInfo)."""

from __future__ import annotations

from dataclasses import dataclass

from pachlite.pps.states import DatumState, JobState
from pachlite.store.jobs import JobRow


@dataclass(frozen=True)
class JobInfo:
    id: str
    pipeline: str
    state: JobState
    reason: str
    output_commit: str | None
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
    inputs: tuple[tuple[str, str, str], ...]

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
    source_job: str


def job_from_row(r: JobRow) -> JobInfo:
    return JobInfo(r.id, r.pipeline, JobState(r.state), r.reason, r.output_commit, r.created,
                   r.started, r.finished, r.processed, r.skipped, r.failed, r.recovered, r.total,
                   r.bytes_in, r.bytes_out, r.inputs)
