"""Pipeline verbs: create, update, list, inspect and delete pipeline, and `pachlite run`."""

from __future__ import annotations

import json
import sys

import click

from pachlite.cli import pretty
from pachlite.cli.groups import cli, create, delete, inspect, list_, update
from pachlite.cli.output import (
    current_project,
    in_project,
    name_key,
    open_pfs,
    print_raw,
    progress,
    project_option,
    project_or_default,
    report,
)
from pachlite.errors import InvalidInput, PachliteError


@create.command("pipeline")
@click.option("-f", "--file", "path", required=True, help="Spec file: JSON, JSON list or YAML.")
@click.option("--workers", type=int, help="Workers for the first job (default: parallelismSpec).")
@click.option("--container", is_flag=True, help="Run datums in transform.image with Docker.")
@project_option
def create_pipeline(path: str, workers: int | None, container: bool) -> None:
    """Create pipelines from a spec and run a job on the current heads of their inputs."""
    _create(path, False, False, workers, container)


@update.command("pipeline")
@click.option("-f", "--file", "path", required=True)
@click.option("--reprocess", is_flag=True, help="New salt: every datum runs again.")
@click.option("--workers", type=int)
@click.option("--container", is_flag=True)
@project_option
def update_pipeline(path: str, reprocess: bool, workers: int | None, container: bool) -> None:
    """Update pipelines (keeping their salt unless --reprocess) and run a job."""
    _create(path, True, reprocess, workers, container)


def _create(path: str, update_: bool, reprocess: bool, workers: int | None, container: bool) -> None:
    import os

    from pachlite.pps import pipeline as pl
    from pachlite.pps.spec import load_specs
    if container:
        _require_docker()
    pfs = open_pfs()
    names = []
    for i, raw in enumerate(load_specs(path)):
        src = path if i == 0 else f"{path}[{i}]"
        names.append(pl.create_pipeline(pfs, in_project(raw), src, update=update_,
                                        reprocess=reprocess).name)
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
@project_option
def run_cmd(pipelines, workers, dry_run, container, spec_json, head_file) -> None:
    """Run a job for each pipeline whose inputs have new commits (all, in DAG order)."""
    import os

    from pachlite.pps import pipeline as pl
    if container and not dry_run:
        _require_docker()
    pfs = open_pfs()
    names = [name_key(n, "pipeline") for n in pipelines] or None
    if names is None and current_project() is not None:  # every pipeline of the project
        names = [p.name for p in pl.list_pipeline(pfs, project_or_default())]
    if spec_json:
        try:
            raw = json.loads(spec_json)
        except json.JSONDecodeError as e:
            raise InvalidInput(f"--spec is not JSON: {e}", "pass one pipeline spec as JSON") from None
        names = [pl.create_pipeline(pfs, in_project(raw), "--spec", update=True, reprocess=None).name]
    with progress() as prog:
        results = pl.run(pfs, names, workers=workers, dry_run=dry_run,
                         container=container, cwd=os.getcwd(), progress=prog)
    status = report(results)
    if head_file and status == 0 and not dry_run:
        from pachlite.snake import write_head
        for name in names or []:
            write_head(pfs.store.root, name, head_file)
    sys.exit(status)


def _require_docker() -> None:
    """--container runs datums through the Docker SDK, an optional extra: say so in one line
    before any work, rather than fail inside the job with an ImportError."""
    try:
        import docker  # noqa: F401
    except ImportError:
        raise PachliteError("container mode needs the Docker SDK",
                            "install it with pip install 'pachlite[docker]'") from None


@list_.command("pipeline")
@click.option("--raw", is_flag=True)
@project_option
@click.option("-A", "--all-projects", is_flag=True, help="List the pipelines of every project.")
def list_pipeline(raw: bool, all_projects: bool) -> None:
    """List a project's pipelines with their inputs and last job's state."""
    from pachlite.pfs.address import split_key
    from pachlite.pps.api import list_pipeline as lp
    ps = lp(open_pfs(), None if all_projects else project_or_default())
    if raw:
        return print_raw(ps)
    click.echo(pretty.table(["PROJECT", "NAME", "VERSION", "INPUT", "CREATED", "STATE / LAST JOB"],
                            [(*split_key(p.name), p.version, ", ".join(f"{r}:{g}" for r, g in _globs(p.spec)),
                              pretty.ago(p.created),
                              p.last_job.state if p.last_job else "-") for p in ps]))


def _globs(spec: dict):
    """(project/repo, glob) of each pfs input, as pachctl's ShorthandInput names them."""
    from pachlite.pps.spec import pfs_inputs, project
    home = project(spec)
    return [(f"{n.get('project') or home}/{n['repo']}", n.get("glob", "/"))
            for n in pfs_inputs(spec.get("input"))]


@inspect.command("pipeline")
@click.argument("name")
@click.option("--raw", is_flag=True)
@project_option
def inspect_pipeline(name: str, raw: bool) -> None:
    """Show a pipeline's spec, salt, version and last job."""
    from pachlite.pfs.address import split_key
    from pachlite.pps.api import inspect_pipeline as ip
    from pachlite.pps.spec import emit
    p = ip(open_pfs(), name_key(name, "pipeline"))
    if raw:
        return print_raw(p)
    click.echo(f"Name: {split_key(p.name)[1]}\nVersion: {p.version}\nSalt: {p.salt}\n"
               f"Created: {pretty.ago(p.created)}\nInput repos: {', '.join(p.inputs)}\n"
               f"Last job: {p.last_job.id + ' ' + p.last_job.state if p.last_job else '-'}\n"
               f"Spec:\n{emit(p.spec)}", nl=False)


@delete.command("pipeline")
@click.argument("name")
@click.option("--keep-repo", is_flag=True, help="Keep the output repo.")
@project_option
def delete_pipeline(name: str, keep_repo: bool) -> None:
    """Delete a pipeline, its jobs and (unless --keep-repo) its output repo.

    A running job of the pipeline is stopped first (its process gets SIGTERM) and marked killed.
    """
    from pachlite.pps.pipeline import delete_pipeline as dp
    dp(open_pfs(), name_key(name, "pipeline"), keep_repo)
