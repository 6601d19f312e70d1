"""PPS's read side, as pachd's API names it: inspect/list pipeline and job, list datum, logs, and
the datums a spec would make (pachctl list datum -f). The CLI and notebooks read pipelines, jobs
and datums through here.

A job recorded as running whose pipeline's lock nobody holds was left by a process that died
(kill -9): it is shown as killed at once, as the next run records it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from pachlite.errors import NotFound
from pachlite.pfs import PFS
from pachlite.pfs.address import split_key
from pachlite.pps import pipeline as pl
from pachlite.pps.datum import Datum
from pachlite.pps.info import DatumInfo, JobInfo, job_from_row
from pachlite.pps.lock import DIED, held
from pachlite.pps.states import JobState
from pachlite.store import datums, jobs


def _as_seen(pfs: PFS, job: JobInfo | None) -> JobInfo | None:
    if job is not None and job.state == JobState.RUNNING and not held(pfs, job.pipeline):
        return dataclasses.replace(job, state=JobState.KILLED, reason=DIED)
    return job


def inspect_pipeline(pfs: PFS, name: str) -> pl.PipelineInfo:
    p = pl.inspect_pipeline(pfs, name)
    return dataclasses.replace(p, last_job=_as_seen(pfs, p.last_job))


def list_pipeline(pfs: PFS, project: str | None = None) -> list[pl.PipelineInfo]:
    """Every pipeline (of the project, when given), newest first."""
    return [dataclasses.replace(p, last_job=_as_seen(pfs, p.last_job))
            for p in pl.list_pipeline(pfs, project)]


def inspect_job(pfs: PFS, pipeline: str, job_id: str | None = None) -> JobInfo:
    """The job `pipeline@job_id` (a unique id prefix will do), or the pipeline's latest job."""
    pl.inspect_pipeline(pfs, pipeline)
    row = jobs.find(pfs.store, pipeline, job_id) if job_id else jobs.latest(pfs.store, pipeline)
    if row is None:
        raise NotFound(f"job {pipeline}@{job_id or '<latest>'} not found",
                       f"list jobs with 'pachlite list job -p {pipeline}'")
    return _as_seen(pfs, job_from_row(row))


def list_job(pfs: PFS, pipeline: str | None = None, project: str | None = None) -> list[JobInfo]:
    """Jobs, newest first (of one pipeline, or of the project's pipelines, if given)."""
    if pipeline:
        pl.inspect_pipeline(pfs, pipeline)
    elif project is not None:
        pfs.project_row(project)
    return [_as_seen(pfs, job_from_row(r)) for r in jobs.list_jobs(pfs.store, pipeline)
            if pipeline or project is None or split_key(r.pipeline)[0] == project]


def list_job_set(pfs: PFS, job_set: str) -> list[JobInfo]:
    """The jobs of a job set (a commit set's id), upstream first, as pachctl list job <id>."""
    found = [_as_seen(pfs, job_from_row(r)) for r in jobs.of_set(pfs.store, job_set)]
    if not found:
        raise NotFound(f"no jobs found for job set {job_set}",
                       "list jobs with 'pachlite list job'; a commit set runs jobs only once "
                       "'pachlite run' has run them")
    return found


def list_datum(pfs: PFS, job: JobInfo, prefix: str | None = None) -> Iterator[DatumInfo]:
    """A job's datums in plan order (those whose id starts with prefix), as they are read."""
    commits = {repo: pfs.commit_id(c) for repo, _, c in job.inputs}
    shown: dict[str, str] = {}  # a job's key → its id (the commit set)

    def job_id(key: str) -> str:
        if key not in shown:
            row = jobs.get(pfs.store, key)
            shown[key] = row.commit_set if row else key
        return shown[key]
    return (DatumInfo(job.id, r.id, r.state, r.reason, r.hash,
                      tuple(f"{repo}@{commits.get(repo, '?')}:{path}" for _, repo, _, path in r.inputs),
                      r.outputs, r.started, r.duration, job_id(r.source_job))
            for r in datums.records(pfs.store, job.key, prefix))


def inspect_datum(pfs: PFS, job: JobInfo, datum_id: str) -> DatumInfo:
    """One datum of a job, by id or unique id prefix."""
    found = next(list_datum(pfs, job, datum_id), None)
    if found is None:
        raise NotFound(f"datum {datum_id} not found in job {job.id}",
                       f"list datums with 'pachlite list datum {job.pipeline}@{job.id}'")
    return found


def logs(pfs: PFS, job: JobInfo, datum_id: str | None = None) -> list[tuple[str, str]]:
    """(datum id, what its user code printed) for each datum of the job that printed anything."""
    rows = datums.logs(pfs.store, job.key, datum_id)
    if datum_id and not rows:
        inspect_datum(pfs, job, datum_id)  # an unknown datum is an error; a silent one is not
    return [(did, pfs.store.read_object(h).decode(errors="replace")) for did, h in rows]


def preview_datums(pfs: PFS, spec: dict) -> list[Datum]:
    """The datums a normalised spec would make on the current heads of its inputs."""
    from pachlite.pps import datum as dm
    from pachlite.pps.job import Job
    from pachlite.pps.spec import PipelineSpec
    running = PipelineSpec.of(spec)
    return dm.datums(running.input, Job(pfs, running, "", 0).resolve)
