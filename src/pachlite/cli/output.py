"""What the noun modules share: opening the library, reading address arguments, the `--raw` option,
and the report of a run (with its live progress on a terminal).

Imports of the library are deferred to the call: `pachlite run` starts once per Snakemake rule.
"""

from __future__ import annotations

import contextlib
import itertools
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
MAKES_STORE = {"create repo", "create project", "create secret", "put file --sync"}


def open_pfs() -> PFS:
    """The library on the store found as git finds its repository (store/location.py):
    $PACHLITE_STORE, else the first .pachlite in this folder or one above it."""
    from pachlite.pfs import PFS
    from pachlite.store import Store
    return PFS(Store(create=_makes_store(click.get_current_context(silent=True))))


def echo_table(header: list[str], rows) -> None:
    """A table printed as its rows come (pretty.table_lines), a thousand lines a write: a job's
    datums or a folder's files may be 10^6."""
    from pachlite.cli import pretty
    lines = pretty.table_lines(header, rows)
    while chunk := list(itertools.islice(lines, 1000)):
        click.echo("\n".join(chunk))


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

def _raw_flags(ctx: click.Context, param: click.Parameter, value):
    """Keep --raw and -o for raw.emit; -o without --raw is refused, as pachctl refuses it."""
    ctx.meta[f"raw.{param.name}"] = value
    if ctx.meta.get("raw.output") and ctx.meta.get("raw.raw") is False:
        raise InvalidInput("cannot set --output (-o) without --raw", "add --raw")
    return value


def raw_option(f):
    """pachctl's output flags: --raw, and -o json|yaml for the encoding."""
    f = click.option("-o", "--output", type=click.Choice(["json", "yaml"], case_sensitive=False),
                     expose_value=False, callback=_raw_flags, is_eager=False,
                     help='Output format when --raw is set: "json" or "yaml" (default "json")')(f)
    return click.option("--raw", is_flag=True, callback=_raw_flags,
                        help="Disable pretty printing; serialize data structures to an encoding "
                             "such as json or yaml (pachd's protobuf messages, one per item)")(f)


def reader_gone() -> bool:
    """Whether nothing reads stdout any more (a pipe whose reader exited): what ends a command
    that follows new data (subscribe commit, logs -f) when it has nothing to write."""
    import select
    try:
        p = select.poll()
        p.register(sys.stdout.fileno(), 0)  # error events only
        return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in p.poll(0))
    except (OSError, ValueError):  # no file descriptor (e.g. captured output)
        return False


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


def report(results, dry_run: bool = False) -> int:
    """Print one line per job (or pipeline); return the exit status: 1 if a pipeline's last job did
    not succeed (an earlier job of a set whose input had failed does not count once a later set's
    job succeeded); a dry run that could plan is 0 whatever it found."""
    from pachlite.pps.states import JobState
    status = 0
    last = {r.pipeline: n for n, r in enumerate(results)}
    for n, r in enumerate(results):
        j = r.job
        if r.action == "planned":
            p = r.plan
            click.echo(f"{r.pipeline}: would run {p.count('run')}, skip {p.count('skip')}, "
                       f"delete {p.count('delete')} datum(s)" + (f": {r.detail}" if r.detail else ""))
            for s in p.steps:
                action, why = ("retry", f"failed in job {s.retry}") if s.retry else (s.action, s.reason)
                click.echo(f"  {action:<6} {s.datum_id[:12]}  {_datum_label(s)}  ({why})")
            continue
        if r.action in ("waiting", "stopped"):
            click.echo(f"{r.pipeline}: {r.action}: {r.detail}")
            continue
        if j is None:
            click.echo(f"{r.pipeline}: {r.action}: {r.detail}")
            status = status if dry_run else 1
            continue
        reason = " ".join(j.reason.split())  # one line, whatever the user code printed
        if r.action == "failed":
            verb = "would not run" if dry_run else "not run again"
            line = f"{r.pipeline}: {verb}: job {j.id} {j.state} on these inputs and code"
        elif r.action == "up to date":
            line = f"{r.pipeline}: up to date (job {j.id} {j.state})"
        else:
            line = f"{r.pipeline}: job {j.id} {j.state}: {j.progress}"
        if reason:
            line += f" ({reason})"
        if r.action == "failed" and dry_run:
            line += f"; {r.detail}"
        click.echo(line)
        if j.state != JobState.SUCCESS and not dry_run and last[r.pipeline] == n:
            status = 1
            click.echo(f"pachlite: error: pipeline {r.pipeline} job {j.id} {j.state}: {reason}; "
                       f"see 'pachlite logs --pipeline {r.pipeline} --job {j.id}'"
                       + (f"; {r.detail}" if r.detail else ""), err=True)
    return status


def _datum_label(step) -> str:
    if step.datum is None:
        return "(removed)"
    return " ".join(f"{di.repo}@{di.commit[:8]}:{di.path}" for di in step.datum.inputs)
