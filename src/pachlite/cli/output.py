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


def open_pfs() -> PFS:
    """The library on the store PACHLITE_STORE (or the default) names."""
    from pachlite.pfs import PFS
    from pachlite.store import Store
    return PFS(Store())


# ---- arguments -----------------------------------------------------------------------------

def parse_address(text: str, **kw) -> Address:
    """A pachctl address: repo@branch, repo@branch=commit, repo@commit, ancestry, :/path."""
    from pachlite.pfs.address import parse
    return parse(text, **kw)


def parse_branch(text: str) -> Address:
    """A `repo@branch` argument: a commit id or ancestry there would name no branch."""
    a = parse_address(text, path_allowed=False)
    if a.commit or a.ancestry:
        raise InvalidInput(f"{text!r} names a commit, not a branch",
                           f"write it as {a.repo}@BRANCH, e.g. {a.repo}@{a.branch or 'master'}")
    return a


def parse_job(text: str) -> tuple[str, str | None]:
    """A `pipeline[@job]` argument: the pipeline and the job id (None: the latest job)."""
    name, _, rest = text.partition("@")
    return name, (rest or None)


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


def report(results, dry_run: bool = False) -> int:
    """Print one line per pipeline; return the exit status (1 if any job did not succeed; a dry
    run that could plan is 0 whatever it found)."""
    from pachlite.pps.states import JobState
    status = 0
    for r in results:
        j = r.job
        if r.action == "planned":
            p = r.plan
            click.echo(f"{r.pipeline}: would run {p.count('run')}, skip {p.count('skip')}, "
                       f"delete {p.count('delete')} datum(s)" + (f": {r.detail}" if r.detail else ""))
            for s in p.steps:
                action, why = ("retry", f"failed in job {s.retry}") if s.retry else (s.action, s.reason)
                click.echo(f"  {action:<6} {s.datum_id[:12]}  {_datum_label(s)}  ({why})")
            continue
        if r.action == "waiting":
            click.echo(f"{r.pipeline}: waiting: {r.detail}")
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
        if j.state != JobState.SUCCESS and not dry_run:
            status = 1
            click.echo(f"pachlite: error: pipeline {r.pipeline} job {j.id} {j.state}: {reason}; "
                       f"see 'pachlite logs --pipeline {r.pipeline} --job {j.id}'"
                       + (f"; {r.detail}" if r.detail else ""), err=True)
    return status


def _datum_label(step) -> str:
    if step.datum is None:
        return "(removed)"
    return " ".join(f"{di.repo}@{di.commit[:8]}:{di.path}" for di in step.datum.inputs)
