"""Pipeline verbs: create, update, list, inspect, start, stop and delete pipeline, and `pachlite run`."""

from __future__ import annotations

import json
import sys

import click

from pachlite.cli import pretty, raw as rawjson
from pachlite.cli.groups import cli, create, delete, inspect, list_, start, stop, update
from pachlite.cli.output import (
    current_project,
    in_project,
    name_key,
    open_pfs,
    progress,
    project_option,
    project_or_default,
    raw_option,
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
@click.option("-f", "--file", "path", required=True, help="Spec file: JSON, JSON list or YAML.")
@click.option("--reprocess", is_flag=True, help="New salt: every datum runs again.")
@click.option("--workers", type=int, help="Workers for the job (default: parallelismSpec).")
@click.option("--container", is_flag=True, help="Run datums in transform.image with Docker.")
@project_option
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
        names.append(pl.create_pipeline(pfs, in_project(raw), src, update=update_, reprocess=reprocess,
                                        cwd=os.getcwd(), container=container).name)
    with progress() as prog:
        results = pl.run(pfs, names, workers=workers, container=container,
                         cwd=os.getcwd(), progress=prog)
    sys.exit(report(results))


@cli.command("run")
@click.argument("pipelines", nargs=-1)
@click.option("--workers", type=int, help="Datums run at once (default: parallelismSpec).")
@click.option("--dry-run", is_flag=True, help="Print the datum plan; run nothing.")
@click.option("--container", is_flag=True, help="Run datums in transform.image with Docker.")
@click.option("--reprocess", is_flag=True, help="New salt first: every datum of the named "
              "pipelines (default: all) runs again, as 'update pipeline --reprocess'.")
@click.option("--spec", "spec_json", help="Create or update this pipeline (JSON) first, then "
              "run it: how a Snakemake rule runs its pipeline. A changed transform or code "
              "reprocesses every datum.")
@click.option("--head-file", type=click.Path(dir_okay=False),
              help="Afterwards, write the output repo's head commit id here (for Snakemake).")
@project_option
def run_cmd(pipelines, workers, dry_run, container, reprocess, spec_json, head_file) -> None:
    """Run a job for each pipeline whose inputs have new commits or whose code changed (all, in
    DAG order).

    The pipelines named in $PACHLITE_REPROCESS (space-separated) are reprocessed as with
    --reprocess: how the Snakefile passes on `snakemake --forcerun`/`--forceall`.

    `pachlite run cron PIPELINE` (pachctl's verb) ticks each cron input of the pipeline now, then
    runs its job. A cron pipeline's ticks that fell due since its last one are committed by
    every run first (at most the last 16 of each input).
    """
    import os

    from pachlite.pps import pipeline as pl
    if not dry_run:
        _runner(container)
    pfs = open_pfs()
    if pipelines[:1] == ("cron",):
        pipelines = _run_cron(pfs, pipelines[1:], dry_run or bool(spec_json))
    names = [name_key(n, "pipeline") for n in pipelines] or None
    if names is None and current_project() is not None:  # every pipeline of the project
        names = [p.name for p in pl.list_pipeline(pfs, project_or_default())]
    forced = set(os.environ.get("PACHLITE_REPROCESS", "").split())
    if reprocess:
        forced.update(names or [p.name for p in pl.list_pipeline(pfs, project_or_default())])
    if spec_json:
        try:
            raw = json.loads(spec_json)
        except json.JSONDecodeError as e:
            raise InvalidInput(f"--spec is not JSON: {e}", "pass one pipeline spec as JSON") from None
        name = (raw.get("pipeline") or {}).get("name") if isinstance(raw, dict) else None
        # A forced pipeline is reprocessed by its update (a dry run plans it so instead).
        now = name in forced and not dry_run
        names = [pl.create_pipeline(pfs, in_project(raw), "--spec", update=True, cwd=os.getcwd(),
                                    reprocess=True if now else None, container=container).name]
        if now:
            forced.discard(name)
    with progress() as prog:
        results = pl.run(pfs, names, workers=workers, dry_run=dry_run, container=container,
                         cwd=os.getcwd(), progress=prog, reprocess=forced)
    status = report(results, dry_run)
    if head_file and status == 0 and not dry_run:
        from pachlite.snake import write_head
        for name in names or []:
            write_head(pfs.store.root, name, head_file)
    sys.exit(status)


def _run_cron(pfs, args: tuple[str, ...], other: bool) -> tuple[str, ...]:
    """`run cron PIPELINE`: tick its cron inputs now (pachd's RunCron); → the pipeline to run."""
    from pachlite.pps import cron, pipeline as pl
    if len(args) != 1 or other:
        raise InvalidInput("'run cron' takes one pipeline and neither --dry-run nor --spec",
                           "run 'pachlite run cron PIPELINE'")
    p = pl.inspect_pipeline(pfs, name_key(args[0], "pipeline"))
    cron.run_cron(pfs, p.name, p.spec)
    return args


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
@raw_option
@project_option
@click.option("-A", "--all-projects", is_flag=True, help="List the pipelines of every project.")
def list_pipeline(raw: bool, all_projects: bool) -> None:
    """List a project's pipelines with their inputs and last job's state."""
    from pachlite.pfs.address import split_key
    from pachlite.pps.api import list_pipeline as lp
    ps = lp(open_pfs(), None if all_projects else project_or_default())
    if raw:
        return rawjson.emit(map(rawjson.pipeline_info, ps))
    click.echo(pretty.table(["PROJECT", "NAME", "VERSION", "INPUT", "CREATED", "STATE / LAST JOB"],
                            [(*split_key(p.name), p.version, ", ".join(f"{r}:{g}" for r, g in _globs(p.spec)),
                              pretty.ago(p.created),
                              f"{'paused' if p.stopped else 'running'} / "
                              f"{p.last_job.state if p.last_job else '-'}") for p in ps]))


def _globs(spec: dict):
    """(project/repo, glob) of each pfs input, as pachctl's ShorthandInput names them."""
    from pachlite.pps.spec import pfs_inputs, project
    home = project(spec)
    return [(f"{n.get('project') or home}/{n['repo']}", n.get("glob", "/"))
            for n in pfs_inputs(spec.get("input"))]


@inspect.command("pipeline")
@click.argument("name")
@raw_option
@project_option
def inspect_pipeline(name: str, raw: bool) -> None:
    """Show a pipeline's spec, salt, version and last job."""
    from pachlite.pfs.address import split_key
    from pachlite.pps.api import inspect_pipeline as ip
    from pachlite.pps.spec import emit
    p = ip(open_pfs(), name_key(name, "pipeline"))
    if raw:
        return rawjson.emit(rawjson.pipeline_info(p))
    click.echo(f"Name: {split_key(p.name)[1]}\nVersion: {p.version}\nSalt: {p.salt}\n"
               f"Created: {pretty.ago(p.created)}\nState: {'paused' if p.stopped else 'running'}\n"
               f"Input repos: {', '.join(p.inputs)}\n"
               f"Last job: {p.last_job.id + ' ' + p.last_job.state if p.last_job else '-'}\n"
               f"Spec:\n{emit(p.spec)}", nl=False)


@start.command("pipeline")
@click.argument("name")
@project_option
def start_pipeline(name: str) -> None:
    """Restart a stopped pipeline: the next run makes the jobs its inputs call for."""
    from pachlite.pps.pipeline import start_pipeline as start_
    start_(open_pfs(), name_key(name, "pipeline"))


@stop.command("pipeline")
@click.argument("name")
@project_option
def stop_pipeline(name: str) -> None:
    """Stop a running pipeline: `pachlite run` makes no job for it (and says so) until it is
    started again; a job already running finishes."""
    from pachlite.pps.pipeline import stop_pipeline as stop_
    stop_(open_pfs(), name_key(name, "pipeline"))


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
