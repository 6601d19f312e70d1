"""Job verbs: list and inspect job, and `pachlite logs`; finding a job and its datums, which the
datum verbs share."""

from __future__ import annotations

import click

from pachlite.cli import pretty
from pachlite.cli.groups import cli, inspect, list_
from pachlite.cli.output import open_pfs, parse_job, print_raw
from pachlite.errors import NotFound


def find_job(pfs, pipeline: str, job_id: str | None):
    """The job `pipeline@job_id` (the latest job when job_id is None), as a JobInfo."""
    from pachlite.pps.info import job_from_row
    from pachlite.pps.pipeline import inspect_pipeline
    from pachlite.store import jobs
    inspect_pipeline(pfs, pipeline)
    row = jobs.find(pfs.store, pipeline, job_id) if job_id else jobs.latest(pfs.store, pipeline)
    if row is None:
        raise NotFound(f"job {pipeline}@{job_id or '<latest>'} not found",
                       f"list jobs with 'pachlite list job -p {pipeline}'")
    return job_from_row(row)


def job_datums(pfs, j, prefix: str | None = None):
    """The job's datums (those whose id starts with prefix), as DatumInfos."""
    from pachlite.pps.info import DatumInfo
    from pachlite.store import datums
    commits = {repo: c for repo, _, c in j.inputs}
    out = []
    for r in datums.records(pfs.store, j.id, prefix):
        inputs = tuple(f"{repo}@{commits.get(repo, '?')}:{path}" for _, repo, _, path in r.inputs)
        out.append(DatumInfo(r.job_id, r.id, r.state, r.reason, r.hash, inputs, r.outputs,
                             r.started, r.duration, r.source_job))
    return out


@list_.command("job")
@click.option("-p", "--pipeline")
@click.option("--raw", is_flag=True)
def list_job(pipeline: str | None, raw: bool) -> None:
    """List jobs, newest first."""
    from pachlite.pps.info import job_from_row
    from pachlite.store.jobs import list_jobs
    pfs = open_pfs()
    if pipeline:
        from pachlite.pps.pipeline import inspect_pipeline as ip
        ip(pfs, pipeline)
    jobs = [job_from_row(r) for r in list_jobs(pfs.store, pipeline)]
    if raw:
        return print_raw(jobs)
    click.echo(pretty.table(
        ["PIPELINE", "ID", "STARTED", "DURATION", "PROGRESS", "DL", "UL", "STATE"],
        [(j.pipeline, j.id, pretty.ago(j.started), pretty.duration(j.duration), j.progress,
          pretty.size(j.bytes_in), pretty.size(j.bytes_out), j.state) for j in jobs]))


@inspect.command("job")
@click.argument("job_addr", metavar="PIPELINE@JOB")
@click.option("--raw", is_flag=True)
def inspect_job(job_addr: str, raw: bool) -> None:
    """Show a job: state, reason, counts, bytes, timings, input and output commits."""
    pipeline, jid = parse_job(job_addr)
    j = find_job(open_pfs(), pipeline, jid)
    if raw:
        return print_raw(j)
    click.echo("\n".join([
        f"ID: {j.id}", f"Pipeline: {j.pipeline}", f"State: {j.state}",
        f"Reason: {j.reason or '-'}", f"Started: {pretty.ago(j.started)}",
        f"Duration: {pretty.duration(j.duration)}",
        f"Datums: {j.processed} processed, {j.skipped} skipped, {j.failed} failed, "
        f"{j.recovered} recovered, {j.total} total",
        f"Data downloaded: {pretty.size(j.bytes_in)}", f"Data uploaded: {pretty.size(j.bytes_out)}",
        "Inputs: " + ", ".join(f"{r}@{b}={c}" for r, b, c in j.inputs),
        f"Output commit: {j.pipeline}@{j.output_commit}" if j.output_commit else "Output commit: -"]))


@cli.command("logs")
@click.option("-p", "--pipeline", required=True)
@click.option("--job", "job_id")
@click.option("--datum", "datum_id")
def logs(pipeline: str, job_id: str | None, datum_id: str | None) -> None:
    """Print the user code's stdout and stderr, per datum (latest job by default)."""
    from pachlite.store import datums
    pfs = open_pfs()
    j = find_job(pfs, pipeline, job_id)
    rows = datums.logs(pfs.store, j.id, datum_id)
    if datum_id and not rows and not job_datums(pfs, j, datum_id):
        raise NotFound(f"datum {datum_id} not found in job {j.id}",
                       f"list datums with 'pachlite list datum {pipeline}@{j.id}'")
    for did, h in rows:
        for line in pfs.store.read_object(h).decode(errors="replace").splitlines():
            click.echo(f"[{did[:12]}] {line}")
