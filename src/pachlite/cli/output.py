"""What the noun modules share: opening the library, reading address arguments, `--raw` JSON,
and the report of a run (with its live progress on a terminal).

Imports of the library are deferred to the call: `pachlite run` starts once per Snakemake rule.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from typing import TYPE_CHECKING

import click

from pachlite.errors import InvalidInput

if TYPE_CHECKING:
    from pachlite.pfs import PFS
    from pachlite.pfs.address import Address


# The commands that make a store where none is found (in the current folder, as `git init` makes
# ./.git): those that make a repo. Every other command reads or changes a store that exists, and
# where there is none says where it looked, leaving nothing behind.
MAKES_STORE = {"create repo", "create project", "put file --sync"}


def open_pfs() -> PFS:
    """The library on the store found as git finds its repository (store/location.py):
    $PACHLITE_STORE, else the first .pachlite in this folder or one above it."""
    from pachlite.pfs import PFS
    from pachlite.store import Store
    return PFS(Store(create=_makes_store(click.get_current_context(silent=True))))


def _makes_store(ctx: click.Context | None) -> bool:
    if ctx is None:
        return False
    verb = ctx.command_path.split()[1:]  # without the program's name
    command = " ".join(verb) + (" --sync" if ctx.params.get("sync") else "")
    return command in MAKES_STORE


# ---- arguments -----------------------------------------------------------------------------

def _remember_project(ctx: click.Context, _param, value: str | None) -> str | None:
    ctx.meta["pachlite.project"] = value
    return value


# pachctl's --project on every verb that names a repo, pipeline or job. The parsers below read it
# from the command's context, so each command takes it with one decorator and no parameter.
project_option = click.option(
    "--project", callback=_remember_project, expose_value=False, is_eager=True,
    help="The project (by name) of the repos, pipelines or jobs named; default: default. "
         "project/repo names one too.")


def current_project() -> str | None:
    """The command's --project; None when not given (the default project, or a project/repo)."""
    ctx = click.get_current_context(silent=True)
    return ctx.meta.get("pachlite.project") if ctx else None


def project_or_default() -> str:
    from pachlite.pfs.address import DEFAULT_PROJECT, validate_project
    return validate_project(current_project() or DEFAULT_PROJECT)


def name_key(text: str, kind: str = "repo") -> str:
    """A repo or pipeline argument (`name` or `project/name`) in --project → its key."""
    from pachlite.pfs.address import parse_name
    return parse_name(text, current_project(), kind)


def parse_address(text: str, **kw) -> Address:
    """A pachctl address: repo@branch, repo@branch=commit, repo@commit, ancestry, :/path (the
    repo in --project, or written project/repo)."""
    from pachlite.pfs.address import parse
    return parse(text, project=current_project(), **kw)


def in_project(raw):
    """A spec as `create pipeline --project P` sends it: pachctl sets `pipeline.project` to P
    when the spec names none."""
    project = current_project()
    pipeline = raw.get("pipeline") if isinstance(raw, dict) else None
    if project is None or not isinstance(pipeline, dict) or (pipeline.get("project") or {}).get("name"):
        return raw
    return {**raw, "pipeline": {**pipeline, "project": {"name": project}}}


def parse_branch(text: str) -> Address:
    """A `repo@branch` argument: a commit id or ancestry there would name no branch."""
    a = parse_address(text, path_allowed=False)
    if a.commit or a.ancestry:
        raise InvalidInput(f"{text!r} names a commit, not a branch",
                           f"write it as {a.repo}@BRANCH, e.g. {a.repo}@{a.branch or 'master'}")
    return a


def parse_job(text: str) -> tuple[str, str | None]:
    """A `pipeline[@job]` argument: the pipeline's key and the job id (None: the latest job)."""
    name, _, rest = text.partition("@")
    return name_key(name, "pipeline"), (rest or None)


# ---- printing ------------------------------------------------------------------------------

raw_option = click.option("--raw", is_flag=True, help="Print JSON instead of a table.")


def print_raw(obj) -> None:
    """`--raw`: the record(s) as JSON, dataclasses as objects."""
    def conv(o):
        if dataclasses.is_dataclass(o):
            return dataclasses.asdict(o)
        if isinstance(o, (list, tuple)):
            return [conv(x) for x in o]
        return o
    click.echo(json.dumps(conv(obj), indent=2, sort_keys=False))


@contextlib.contextmanager
def progress():
    """A live datum count per job on a terminal (rich); nothing when stderr is not one."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    bars: dict[str, int] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as p:
        def update(pipeline: str, done: int, total: int) -> None:
            if pipeline not in bars:
                bars[pipeline] = p.add_task(f"{pipeline}: datums", total=total)
            p.update(bars[pipeline], completed=done, total=total)
        yield update


def report(results) -> int:
    """Print one line per pipeline; return the exit status (1 if any job did not succeed)."""
    from pachlite.pps.states import JobState
    status = 0
    for r in results:
        j = r.job
        if r.action == "planned":
            p = r.plan
            click.echo(f"{r.pipeline}: would run {p.count('run')}, skip {p.count('skip')}, "
                       f"delete {p.count('delete')} datum(s)")
            for s in p.steps:
                click.echo(f"  {s.action:<6} {s.datum_id[:12]}  {_datum_label(s)}  ({s.reason})")
            continue
        if r.action == "waiting":
            click.echo(f"{r.pipeline}: waiting: {r.detail}")
            continue
        if j is None:
            click.echo(f"{r.pipeline}: {r.action}: {r.detail}")
            status = 1
            continue
        line = f"{r.pipeline}: job {j.id} {j.state}: {j.progress}"
        if r.action == "up to date":
            line = f"{r.pipeline}: up to date (job {j.id} {j.state})"
        reason = " ".join(j.reason.split())  # one line, whatever the user code printed
        if reason:
            line += f" ({reason})"
        click.echo(line)
        if j.state != JobState.SUCCESS:
            status = 1
            click.echo(f"pachlite: error: pipeline {r.pipeline} job {j.id} {j.state}: {reason}; "
                       f"see 'pachlite logs --pipeline {r.pipeline} --job {j.id}'", err=True)
    return status


def _datum_label(step) -> str:
    if step.datum is None:
        return "(removed)"
    return " ".join(f"{di.repo}@{di.commit[:8]}:{di.path}" for di in step.datum.inputs)
