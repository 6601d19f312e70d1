"""Job verbs: list, inspect and wait job, and `pachlite logs`."""

from __future__ import annotations

import click

from pachlite.cli import pretty
from pachlite.cli.groups import cli, inspect, list_, wait
from pachlite.cli.output import name_key, open_pfs, parse_job, print_raw, project_option, project_or_default
from pachlite.pfs.address import split_key


@list_.command("job")
@click.argument("job_set", metavar="[JOB_SET]", required=False)
@click.option("-p", "--pipeline")
@click.option("--raw", is_flag=True)
@project_option
@click.option("-A", "--all-projects", is_flag=True, help="List the jobs of every project.")
def list_job(job_set: str | None, pipeline: str | None, raw: bool, all_projects: bool) -> None:
    """List a project's jobs (or a pipeline's), newest first, or the jobs of a job set (a commit
    set's id) in every project, upstream first."""
    from pachlite.pps import api
    jobs = api.list_job_set(open_pfs(), job_set) if job_set else \
        api.list_job(open_pfs(), pipeline and name_key(pipeline, "pipeline"),
                     None if all_projects or pipeline else project_or_default())
    if raw:
        return print_raw(jobs)
    click.echo(pretty.table(
        ["PROJECT", "PIPELINE", "ID", "STARTED", "DURATION", "PROGRESS", "DL", "UL", "STATE"],
        [(*split_key(j.pipeline), j.id, pretty.ago(j.started), pretty.duration(j.duration), j.progress,
          pretty.size(j.bytes_in), pretty.size(j.bytes_out), j.state) for j in jobs]))


@inspect.command("job")
@click.argument("job_addr", metavar="PIPELINE@JOB")
@click.option("--raw", is_flag=True)
@project_option
def inspect_job(job_addr: str, raw: bool) -> None:
    """Show a job: state, reason, counts, bytes, timings, input and output commits."""
    from pachlite.pps import api
    pipeline, jid = parse_job(job_addr)
    pfs = open_pfs()
    _print_job(pfs, api.inspect_job(pfs, pipeline, jid), raw)


@wait.command("job")
@click.argument("job_addr", metavar="PIPELINE[@JOB]")
@click.option("--raw", is_flag=True)
@project_option
def wait_job(job_addr: str, raw: bool) -> None:
    """Wait for a job to end (another process may be running it), then show it."""
    from pachlite.pps.commitset import wait_job
    pipeline, jid = parse_job(job_addr)
    pfs = open_pfs()
    _print_job(pfs, wait_job(pfs, pipeline, jid), raw)


def _print_job(pfs, j, raw: bool) -> None:
    if raw:
        return print_raw(j)
    click.echo("\n".join([
        f"ID: {j.id}", f"Pipeline: {split_key(j.pipeline)[1]}", f"Project: {split_key(j.pipeline)[0]}",
        f"State: {j.state}",
        f"Reason: {j.reason or '-'}", f"Started: {pretty.ago(j.started)}",
        f"Duration: {pretty.duration(j.duration)}",
        f"Datums: {j.processed} processed, {j.skipped} skipped, {j.failed} failed, "
        f"{j.recovered} recovered, {j.total} total",
        f"Data downloaded: {pretty.size(j.bytes_in)}", f"Data uploaded: {pretty.size(j.bytes_out)}",
        "Inputs: " + ", ".join(f"{r}@{b}={pfs.commit_id(c)}" for r, b, c in j.inputs),
        f"Output commit: {j.pipeline}@{j.id}" if j.output_commit else "Output commit: -"]))


@cli.command("logs")
@click.option("-p", "--pipeline", required=True)
@click.option("--job", "job_id")
@click.option("--datum", "datum_id")
@project_option
def logs(pipeline: str, job_id: str | None, datum_id: str | None) -> None:
    """Print the user code's stdout and stderr, per datum (latest job by default)."""
    from pachlite.pps import api
    pfs = open_pfs()
    for did, text in api.logs(pfs, api.inspect_job(pfs, name_key(pipeline, "pipeline"), job_id), datum_id):
        for line in text.splitlines():
            click.echo(f"[{did[:12]}] {line}")
