"""Datum verbs: list datum (of a job, or a spec's preview), inspect datum and restart datum."""

from __future__ import annotations

import click

from pachlite.cli import pretty, raw as rawjson
from pachlite.cli.groups import inspect, list_, restart
from pachlite.cli.output import (
    echo_table,
    in_project,
    open_pfs,
    parse_job,
    progress,
    project_option,
    raw_option,
    report,
)
from pachlite.errors import InvalidInput


@list_.command("datum")
@click.argument("job_addr", metavar="PIPELINE@JOB", required=False)
@click.option("-f", "--file", "spec_path", help="Preview the datums of a spec without running it.")
@raw_option
@project_option
def list_datum(job_addr: str | None, spec_path: str | None, raw: bool) -> None:
    """List a job's datums with state and time, or preview a spec's datums with -f."""
    pfs = open_pfs()
    if spec_path:
        return _preview(pfs, spec_path, raw)
    if not job_addr:
        raise InvalidInput("list datum needs PIPELINE@JOB or -f SPEC",
                           "e.g. 'pachlite list datum infer' or 'pachlite list datum -f spec.json'")
    from pachlite.pps import api
    pipeline, jid = parse_job(job_addr)
    ds = api.list_datum(pfs, api.inspect_job(pfs, pipeline, jid))
    if raw:
        return rawjson.emit(rawjson.datum_info(d, pipeline) for d in ds)
    echo_table(["ID", "FILES", "STATUS", "TIME"],
               ((d.id, ", ".join(d.inputs), d.state,
                 pretty.duration(d.duration) if d.duration is not None else "-") for d in ds))


def _preview(pfs, spec_path: str, raw: bool) -> None:
    from pachlite.pps.api import preview_datums
    from pachlite.pps.spec import load_specs, normalize
    for rawspec in load_specs(spec_path):
        ds = preview_datums(pfs, normalize(in_project(rawspec), spec_path))
        if raw:
            rawjson.emit(rawjson.preview_datum_info(d) for d in ds)
            continue
        click.echo(pretty.table(["ID", "FILES"], [
            (d.id, ", ".join(f"{di.repo}@{di.commit[:8]}:{di.path}" for di in d.inputs))
            for d in ds]))


@inspect.command("datum")
@click.argument("job_addr", metavar="PIPELINE@JOB")
@click.argument("datum_id")
@raw_option
@project_option
def inspect_datum(job_addr: str, datum_id: str, raw: bool) -> None:
    """Show one datum: state, reason, inputs, outputs and timing."""
    from pachlite.pps import api
    pipeline, jid = parse_job(job_addr)
    pfs = open_pfs()
    d = api.inspect_datum(pfs, api.inspect_job(pfs, pipeline, jid), datum_id)
    if raw:
        return rawjson.emit(rawjson.datum_info(d, pipeline))
    click.echo("\n".join([
        f"ID: {d.id}", f"Job: {d.job_id}", f"State: {d.state}", f"Reason: {d.reason or '-'}",
        f"Processed in job: {d.source_job}", "Inputs: " + ", ".join(d.inputs),
        "Outputs: " + (", ".join(f"{p} ({pretty.size(s)})" for p, _, s in d.outputs) or "-"),
        f"Time: {pretty.duration(d.duration) if d.duration is not None else '-'}"]))


@restart.command("datum")
@click.argument("job_addr", metavar="PIPELINE@JOB")
@click.argument("filters", nargs=-1, required=True, metavar="DATUM-PATH1,DATUM-PATH2,...")
@click.option("--workers", type=int, help="Datums run at once (default: parallelismSpec).")
@click.option("--container", is_flag=True, help="Run datums in transform.image with Docker.")
@project_option
def restart_datum(job_addr: str, filters: tuple[str, ...], workers: int | None,
                  container: bool) -> None:
    """Retry a failed job: its failed datums run again now, in a new job.

    The datum is named by its input files' paths, as pachctl names it (every path given must be
    one of the datum's; pachctl restarts a running job's datum, a local job is never left
    running). Run it after a fix outside the code and data (the environment, a full disk), or to
    retry as it is.
    """
    import os
    import sys

    from pachlite.pps import api, pipeline as pl
    from pachlite.pps.retry import matching_failed
    if container:
        from pachlite.cli.pipeline import _require_docker
        _require_docker()
    pipeline, jid = parse_job(job_addr)
    if not jid:
        raise InvalidInput(f"{job_addr!r} names no job", f"write it as {pipeline}@JOB; the job id "
                           "is in the failure's message and in 'pachlite list job'")
    pfs = open_pfs()
    paths = [p for f in filters for p in f.split(",")]
    matching_failed(pfs, api.inspect_job(pfs, pipeline, jid), paths)
    with progress() as prog:
        results = pl.run(pfs, [pipeline], workers=workers, container=container,
                         cwd=os.getcwd(), progress=prog, retry=True)
    sys.exit(report(results))
