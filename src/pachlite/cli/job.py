"""Job verbs: list and inspect job, and `pachlite logs`."""

from __future__ import annotations

import click

from pachlite.cli import pretty, raw as rawjson
from pachlite.cli.groups import cli, inspect, list_
from pachlite.cli.output import open_pfs, parse_job, raw_option


@list_.command("job")
@click.option("-p", "--pipeline")
@raw_option
def list_job(pipeline: str | None, raw: bool) -> None:
    """List jobs, newest first."""
    from pachlite.pps import api
    pfs = open_pfs()
    jobs = api.list_job(pfs, pipeline)
    if raw:
        return rawjson.emit(_job_json(pfs, j) for j in jobs)
    click.echo(pretty.table(
        ["PIPELINE", "ID", "STARTED", "DURATION", "PROGRESS", "DL", "UL", "STATE"],
        [(j.pipeline, j.id, pretty.ago(j.started), pretty.duration(j.duration), j.progress,
          pretty.size(j.bytes_in), pretty.size(j.bytes_out), j.state) for j in jobs]))


@inspect.command("job")
@click.argument("job_addr", metavar="PIPELINE@JOB")
@raw_option
def inspect_job(job_addr: str, raw: bool) -> None:
    """Show a job: state, reason, counts, bytes, timings, input and output commits."""
    from pachlite.pps import api
    pipeline, jid = parse_job(job_addr)
    pfs = open_pfs()
    j = api.inspect_job(pfs, pipeline, jid)
    if raw:
        return rawjson.emit(_job_json(pfs, j))
    click.echo("\n".join([
        f"ID: {j.id}", f"Pipeline: {j.pipeline}", f"State: {j.state}",
        f"Reason: {j.reason or '-'}", f"Started: {pretty.ago(j.started)}",
        f"Duration: {pretty.duration(j.duration)}",
        f"Datums: {j.processed} processed, {j.skipped} skipped, {j.failed} failed, "
        f"{j.recovered} recovered, {j.total} total",
        f"Data downloaded: {pretty.size(j.bytes_in)}", f"Data uploaded: {pretty.size(j.bytes_out)}",
        "Inputs: " + ", ".join(f"{r}@{b}={c}" for r, b, c in j.inputs),
        f"Output commit: {j.pipeline}@{j.output_commit}" if j.output_commit else "Output commit: -"]))


def _job_json(pfs, j) -> dict:
    """A job's JobInfo message: with the pipeline version it ran and the spec's inputs."""
    from pachlite.store import jobs as rows
    return rawjson.job_info(j, rows.get(pfs.store, j.id).pipeline_version)


@cli.command("logs")
@click.option("-p", "--pipeline", required=True)
@click.option("--job", "job_id")
@click.option("--datum", "datum_id")
def logs(pipeline: str, job_id: str | None, datum_id: str | None) -> None:
    """Print the user code's stdout and stderr, per datum (latest job by default)."""
    from pachlite.pps import api
    pfs = open_pfs()
    for did, text in api.logs(pfs, api.inspect_job(pfs, pipeline, job_id), datum_id):
        for line in text.splitlines():
            click.echo(f"[{did[:12]}] {line}")
