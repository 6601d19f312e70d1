"""Datum verbs: list datum (of a job, or a spec's preview) and inspect datum."""

from __future__ import annotations

import click

from pachlite.cli import pretty
from pachlite.cli.groups import inspect, list_
from pachlite.cli.output import in_project, open_pfs, parse_job, print_raw, project_option
from pachlite.errors import InvalidInput


@list_.command("datum")
@click.argument("job_addr", metavar="PIPELINE@JOB", required=False)
@click.option("-f", "--file", "spec_path", help="Preview the datums of a spec without running it.")
@click.option("--raw", is_flag=True)
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
        return print_raw(ds)
    click.echo(pretty.table(["ID", "FILES", "STATUS", "TIME"],
                            [(d.id, ", ".join(d.inputs), d.state,
                              pretty.duration(d.duration) if d.duration is not None else "-")
                             for d in ds]))


def _preview(pfs, spec_path: str, raw: bool) -> None:
    from pachlite.pps.api import preview_datums
    from pachlite.pps.spec import load_specs, normalize
    for rawspec in load_specs(spec_path):
        ds = preview_datums(pfs, normalize(in_project(rawspec), spec_path))
        if raw:
            print_raw([{"id": d.id, "files": [f"{di.repo}@{di.commit}:{f.path}" for di in d.inputs
                                              for f in di.files]} for d in ds])
            continue
        click.echo(pretty.table(["ID", "FILES"], [
            (d.id, ", ".join(f"{di.repo}@{di.commit[:8]}:{di.path}" for di in d.inputs))
            for d in ds]))


@inspect.command("datum")
@click.argument("job_addr", metavar="PIPELINE@JOB")
@click.argument("datum_id")
@click.option("--raw", is_flag=True)
@project_option
def inspect_datum(job_addr: str, datum_id: str, raw: bool) -> None:
    """Show one datum: state, reason, inputs, outputs and timing."""
    from pachlite.pps import api
    pipeline, jid = parse_job(job_addr)
    pfs = open_pfs()
    d = api.inspect_datum(pfs, api.inspect_job(pfs, pipeline, jid), datum_id)
    if raw:
        return print_raw(d)
    click.echo("\n".join([
        f"ID: {d.id}", f"Job: {d.job_id}", f"State: {d.state}", f"Reason: {d.reason or '-'}",
        f"Processed in job: {d.source_job}", "Inputs: " + ", ".join(d.inputs),
        "Outputs: " + (", ".join(f"{p} ({pretty.size(s)})" for p, _, s in d.outputs) or "-"),
        f"Time: {pretty.duration(d.duration) if d.duration is not None else '-'}"]))
