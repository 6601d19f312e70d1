"""Commit verbs: list, inspect, start and finish commit."""

from __future__ import annotations

import click

from pachlite.cli import pretty, raw as rawjson
from pachlite.cli.groups import finish, inspect, list_, start
from pachlite.cli.output import open_pfs, parse_address, parse_branch, raw_option


def _commit_rows(cs):
    return [(c.repo, c.branch or "-", c.id,
             pretty.ago(c.finished) if c.finished else "-",
             pretty.size(c.size) if c.finished else "-", c.origin,
             c.description) for c in cs]


@list_.command("commit")
@click.argument("repo_addr", metavar="REPO[@BRANCH]")
@click.option("-n", "--number", type=int, help="At most this many commits.")
@raw_option
def list_commit(repo_addr: str, number: int | None, raw: bool) -> None:
    """List commits, newest first."""
    a = parse_address(repo_addr, path_allowed=False)
    pfs = open_pfs()
    cs = pfs.list_commit(a.repo, a.branch or ("master" if a.ancestry and not a.commit else None),
                                number, a.ancestry, a.commit)
    if raw:
        return rawjson.emit(rawjson.commit_info(c, rawjson.direct_provenance(pfs, c)) for c in cs)
    click.echo(pretty.table(["REPO", "BRANCH", "COMMIT", "FINISHED", "SIZE", "ORIGIN",
                             "DESCRIPTION"], _commit_rows(cs)))


@inspect.command("commit")
@click.argument("commit_addr", metavar="REPO@BRANCH|REPO@COMMIT")
@raw_option
def inspect_commit(commit_addr: str, raw: bool) -> None:
    """Show a commit: parent, times, size and provenance."""
    pfs = open_pfs()
    c = pfs.resolve(parse_address(commit_addr, path_allowed=False))
    if raw:
        return rawjson.emit(rawjson.commit_info(c, rawjson.direct_provenance(pfs, c)))
    import datetime as dt

    def ts(t):
        return dt.datetime.fromtimestamp(t).isoformat(timespec="seconds") if t else "-"
    lines = [f"Commit: {c.repo}@{c.id}", f"Original Branch: {c.branch or '-'}",
             f"Origin: {c.origin}", f"Parent: {c.parent or '<none>'}",
             f"Started: {ts(c.started)} ({pretty.ago(c.started)})",
             f"Finished: {ts(c.finished)}" + (f" ({pretty.ago(c.finished)})" if c.finished else ""),
             f"Size: {pretty.size(c.size)}",
             f"Description: {c.description}" if c.description else None,
             "Provenance: " + (", ".join(f"{r}@{b}={i}" if b else f"{r}@{i}"
                                         for r, b, i in c.provenance) or "<none>")]
    click.echo("\n".join(x for x in lines if x is not None))


@start.command("commit")
@click.argument("branch_addr", metavar="REPO@BRANCH")
@click.option("-m", "--message", "--description", "description", default="")
def start_commit(branch_addr: str, description: str) -> None:
    """Start a commit; put files into it, then finish it."""
    a = parse_branch(branch_addr)
    click.echo(open_pfs().start_commit(a.repo, a.branch or "master", description).id)


@finish.command("commit")
@click.argument("commit_addr", metavar="REPO@BRANCH|REPO@COMMIT")
@click.option("-m", "--message", "--description", "description", default=None)
def finish_commit(commit_addr: str, description: str | None) -> None:
    """Finish an open commit."""
    open_pfs().finish_commit(parse_address(commit_addr, path_allowed=False), description)
