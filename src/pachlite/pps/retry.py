"""Failed jobs and their retry: which datums failed, how to say the way out, `restart datum`.

A failed job is not run again on the same inputs and code: it would fail the same way. A change
of its code reprocesses (pps.code); `pachlite restart datum PIPELINE@JOB PATHS` retries it as it
is. pachd's RestartDatum restarts a datum of a running job; locally a job runs in the foreground,
so what is left to restart is a failed job's datums: a new job runs them on the current heads of
its inputs (the failed job's, unless they moved since).
"""

from __future__ import annotations

import shlex

from pachlite.errors import InvalidInput
from pachlite.pps.info import JobInfo
from pachlite.pps.states import DatumState, JobState
from pachlite.store import datums, jobs


def failed_paths(pfs, job: JobInfo) -> list[tuple[str, ...]]:
    """The input file paths of each failed datum of the job, in plan order."""
    return [tuple(dict.fromkeys(path for _, _, _, path in r.inputs))  # (each path once: "/")
            for r in datums.records(pfs.store, job.key, state=DatumState.FAILED.value)]


def restart_command(pfs, job: JobInfo) -> str:
    """The command that retries the job as it is."""
    failed = failed_paths(pfs, job)
    if not failed:  # the job failed as a whole (e.g. its outputs collided): run it afresh
        return f"pachlite run --reprocess {job.pipeline}"
    return f"pachlite restart datum {job.pipeline}@{job.id} {shlex.quote(','.join(failed[0]))}"


def retry_hint(pfs, job: JobInfo) -> str:
    """What to do about a failed (or unrunnable) job whose inputs and code have not changed."""
    if job.state == JobState.UNRUNNABLE:
        return "its upstream pipeline failed: retry that one first"
    return ("fix the code and run again (changed code reprocesses), or after a fix elsewhere "
            f"retry it: '{restart_command(pfs, job)}'")


def matching_failed(pfs, job: JobInfo, filters: list[str]) -> list[tuple[str, ...]]:
    """The failed datums of a job that the filter names (pachd's MatchDatum: every filter path
    is one of the datum's input file paths). A filter that names none is refused."""
    latest = jobs.latest(pfs.store, job.pipeline)
    if job.state != JobState.FAILURE or latest.id != job.key:
        raise InvalidInput(f"job {job.pipeline}@{job.id} is {job.state}"
                           + ("" if latest.id == job.key else f" and not {job.pipeline}'s latest job"),
                           "restart datum retries the failed datums of a pipeline's latest job; "
                           f"see 'pachlite list job -p {job.pipeline}'")
    failed = failed_paths(pfs, job)
    wanted = [f.strip() for f in filters if f.strip()]
    found = [paths for paths in failed if all(f in paths for f in wanted)]
    if not found:
        named = "; ".join(",".join(p) for p in failed) or "none"
        raise InvalidInput(f"no failed datum of job {job.pipeline}@{job.id} has the input files "
                           f"{','.join(wanted)}", f"its failed datums' files: {named}")
    return found


def failed_datums(store, pipeline: str) -> dict[str, str]:
    """id → job (its shown id) of each datum that failed in a job of the pipeline since its last
    successful one (the newest failure wins): the datums a job retries."""
    found: dict[str, str] = {}
    for j in jobs.list_jobs(store, pipeline):  # newest first
        if j.state == JobState.SUCCESS:
            break
        if j.state == JobState.FAILURE:
            for r in datums.records(store, j.id, state=DatumState.FAILED.value):
                found.setdefault(r.id, j.commit_set or j.id)
    return found
