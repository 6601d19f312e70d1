"""Pipeline verbs: create, update, list, inspect and delete pipeline, and `pachlite run`."""

from __future__ import annotations

import json
import sys

import click

from pachlite.cli import pretty
from pachlite.cli.groups import cli, create, delete, inspect, list_, update
from pachlite.cli.output import open_pfs, print_raw, progress, report
from pachlite.errors import InvalidInput, PachliteError


@create.command("pipeline")
@click.option("-f", "--file", "path", required=True, help="Spec file: JSON, JSON list or YAML.")
@click.option("--workers", type=int, help="Workers for the first job (default: parallelismSpec).")
@click.option("--container", is_flag=True, help="Run datums in transform.image with Docker.")
def create_pipeline(path: str, workers: int | None, container: bool) -> None:
    """Create pipelines from a spec and run a job on the current heads of their inputs."""
    _create(path, False, False, workers, container)


@update.command("pipeline")
@click.option("-f", "--file", "path", required=True)
@click.option("--reprocess", is_flag=True, help="New salt: every datum runs again.")
@click.option("--workers", type=int)
@click.option("--container", is_flag=True)
def update_pipeline(path: str, reprocess: bool, workers: int | None, container: bool) -> None:
    """Update pipelines (keeping their salt unless --reprocess) and run a job."""
    _create(path, True, reprocess, workers, container)


def _create(path: str, update_: bool, reprocess: bool, workers: int | None, container: bool) -> None:
    import os

    from pachlite.pps import pipeline as pl
    from pachlite.pps.spec import load_specs
    _runner(container)
    pfs = open_pfs()
    names = []
    for i, raw in enumerate(load_specs(path)):
        src = path if i == 0 else f"{path}[{i}]"
        names.append(pl.create_pipeline(pfs, raw, src, update=update_, reprocess=reprocess).name)
    with progress() as prog:
        results = pl.run(pfs, names, workers=workers, container=container,
                         cwd=os.getcwd(), progress=prog)
    sys.exit(report(results))


@cli.command("run")
@click.argument("pipelines", nargs=-1)
@click.option("--workers", type=int, help="Datums run at once (default: parallelismSpec).")
@click.option("--dry-run", is_flag=True, help="Print the datum plan; run nothing.")
@click.option("--container", is_flag=True, help="Run datums in transform.image with Docker.")
@click.option("--spec", "spec_json", help="Create or update this pipeline (JSON) first, then "
              "run it: how a Snakemake rule runs its pipeline. A changed transform "
              "reprocesses every datum.")
@click.option("--head-file", type=click.Path(dir_okay=False),
              help="Afterwards, write the output repo's head commit id here (for Snakemake).")
def run_cmd(pipelines, workers, dry_run, container, spec_json, head_file) -> None:
    """Run a job for each pipeline whose inputs have new commits (all, in DAG order)."""
    import os

    from pachlite.pps import pipeline as pl
    if not dry_run:
        _runner(container)
    pfs = open_pfs()
    names = list(pipelines) or None
    if spec_json:
        try:
            raw = json.loads(spec_json)
        except json.JSONDecodeError as e:
            raise InvalidInput(f"--spec is not JSON: {e}", "pass one pipeline spec as JSON") from None
        names = [pl.create_pipeline(pfs, raw, "--spec", update=True, reprocess=None).name]
    with progress() as prog:
        results = pl.run(pfs, names, workers=workers, dry_run=dry_run,
                         container=container, cwd=os.getcwd(), progress=prog)
    status = report(results)
    if head_file and status == 0 and not dry_run:
        from pachlite.snake import write_head
        for name in names or []:
            write_head(pfs.store.root, name, head_file)
    sys.exit(status)


def _runner(container: bool) -> None:
    """--container runs datums through the Docker SDK, an optional extra: say so in one line
    before any work, rather than fail inside the job with an ImportError. Locally, say in one
    line when this machine gives datums no private /pfs (code with literal /pfs paths would
    find nothing there)."""
    if not container:
        from pachlite.pps.executors.namespace import fallback_notice
        if notice := fallback_notice():
            click.echo(f"pachlite: {notice}", err=True)
        return
    try:
        import docker  # noqa: F401
    except ImportError:
        raise PachliteError("container mode needs the Docker SDK",
                            "install it with pip install 'pachlite[docker]'") from None


@list_.command("pipeline")
@click.option("--raw", is_flag=True)
def list_pipeline(raw: bool) -> None:
    """List pipelines with their inputs and last job's state."""
    from pachlite.pps.api import list_pipeline as lp
    ps = lp(open_pfs())
    if raw:
        return print_raw(ps)
    click.echo(pretty.table(["NAME", "VERSION", "INPUT", "CREATED", "STATE / LAST JOB"],
                            [(p.name, p.version, ", ".join(f"{r}:{g}" for r, g in _globs(p.spec)),
                              pretty.ago(p.created),
                              p.last_job.state if p.last_job else "-") for p in ps]))


def _globs(spec: dict):
    from pachlite.pps.spec import pfs_inputs
    return [(n["repo"], n.get("glob", "/")) for n in pfs_inputs(spec.get("input"))]


@inspect.command("pipeline")
@click.argument("name")
@click.option("--raw", is_flag=True)
def inspect_pipeline(name: str, raw: bool) -> None:
    """Show a pipeline's spec, salt, version and last job."""
    from pachlite.pps.api import inspect_pipeline as ip
    from pachlite.pps.spec import emit
    p = ip(open_pfs(), name)
    if raw:
        return print_raw(p)
    click.echo(f"Name: {p.name}\nVersion: {p.version}\nSalt: {p.salt}\n"
               f"Created: {pretty.ago(p.created)}\nInput repos: {', '.join(p.inputs)}\n"
               f"Last job: {p.last_job.id + ' ' + p.last_job.state if p.last_job else '-'}\n"
               f"Spec:\n{emit(p.spec)}", nl=False)


@delete.command("pipeline")
@click.argument("name")
@click.option("--keep-repo", is_flag=True, help="Keep the output repo.")
def delete_pipeline(name: str, keep_repo: bool) -> None:
    """Delete a pipeline, its jobs and (unless --keep-repo) its output repo.

    A running job of the pipeline is stopped first (its process gets SIGTERM) and marked killed.
    """
    from pachlite.pps.pipeline import delete_pipeline as dp
    dp(open_pfs(), name, keep_repo)
