"""Commit verbs: list, inspect, start, finish and wait commit; squash and delete a commit set."""

from __future__ import annotations

import re

import click

from pachlite.cli import pretty
from pachlite.cli.groups import delete, finish, inspect, list_, squash, start, wait
from pachlite.cli.output import open_pfs, parse_address, parse_branch, print_raw, project_option, raw_option
from pachlite.pfs.address import split_key

# A commit set's id, as pachctl tells one from a repo name: a UUID without dashes.
COMMIT_SET = re.compile(r"[0-9a-f]{32}")


def _commit_rows(cs):
    return [(*split_key(c.repo), c.branch or "-", c.id,
             pretty.ago(c.finished) if c.finished else "-",
             pretty.size(c.size) if c.finished else "-", c.origin,
             c.description) for c in cs]


@list_.command("commit")
@click.argument("repo_addr", metavar="REPO[@BRANCH]|COMMIT_SET")
@click.option("-n", "--number", type=int, help="At most this many commits.")
@raw_option
@project_option
def list_commit(repo_addr: str, number: int | None, raw: bool) -> None:
    """List a repo's commits, newest first, or the commits of a commit set (its id)."""
    pfs = open_pfs()
    if COMMIT_SET.fullmatch(repo_addr) and repo_addr not in {r.name for r in pfs.list_repo()}:
        from pachlite.pps.commitset import list_commit_set
        cs = list_commit_set(pfs, repo_addr)[:number]
    else:
        a = parse_address(repo_addr, path_allowed=False)
        cs = pfs.list_commit(a.repo, a.branch or ("master" if a.ancestry and not a.commit else None),
                             number, a.ancestry, a.commit)
    if raw:
        return print_raw(cs)
    click.echo(pretty.table(["PROJECT", "REPO", "BRANCH", "COMMIT", "FINISHED", "SIZE", "ORIGIN",
                             "DESCRIPTION"], _commit_rows(cs)))


@inspect.command("commit")
@click.argument("commit_addr", metavar="REPO@BRANCH|REPO@COMMIT")
@raw_option
@project_option
def inspect_commit(commit_addr: str, raw: bool) -> None:
    """Show a commit: parent, times, size and provenance."""
    _print_commit(open_pfs().resolve(parse_address(commit_addr, path_allowed=False)), raw)


def _print_commit(c, raw: bool) -> None:
    if raw:
        return print_raw(c)
    import datetime as dt

    def ts(t):
        return dt.datetime.fromtimestamp(t).isoformat(timespec="seconds") if t else "-"
    lines = [f"Commit: {c.repo}@{c.id}", f"Original Branch: {c.branch or '-'}",
             f"Origin: {c.origin}", f"Parent: {c.parent or '<none>'}",
             f"Started: {ts(c.started)} ({pretty.ago(c.started)})",
             f"Finished: {ts(c.finished)}" + (f" ({pretty.ago(c.finished)})" if c.finished else ""),
             f"Size: {pretty.size(c.size)}",
             f"Error: {c.error}" if c.error else None,
             f"Description: {c.description}" if c.description else None,
             "Provenance: " + (", ".join(f"{r}@{b}={i}" if b else f"{r}@{i}"
                                         for r, b, i in c.provenance) or "<none>")]
    click.echo("\n".join(x for x in lines if x is not None))


@start.command("commit")
@click.argument("branch_addr", metavar="REPO@BRANCH")
@click.option("-m", "--message", "--description", "description", default="")
@project_option
def start_commit(branch_addr: str, description: str) -> None:
    """Start a commit; put files into it, then finish it."""
    a = parse_branch(branch_addr)
    click.echo(open_pfs().start_commit(a.repo, a.branch or "master", description).id)


@finish.command("commit")
@click.argument("commit_addr", metavar="REPO@BRANCH|REPO@COMMIT")
@click.option("-m", "--message", "--description", "description", default=None)
@project_option
def finish_commit(commit_addr: str, description: str | None) -> None:
    """Finish an open commit."""
    open_pfs().finish_commit(parse_address(commit_addr, path_allowed=False), description)


@wait.command("commit")
@click.argument("commit_addr", metavar="REPO@BRANCH|REPO@COMMIT")
@raw_option
@project_option
def wait_commit(commit_addr: str, raw: bool) -> None:
    """Wait for a commit to finish (a job another process runs may be making it), then show it."""
    from pachlite.pps.commitset import wait_commit
    _print_commit(wait_commit(open_pfs(), parse_address(commit_addr, path_allowed=False)), raw)


@squash.command("commit")
@click.argument("commit_set", metavar="COMMIT_SET")
def squash_commit(commit_set: str) -> None:
    """Remove a commit set whose commits all have children (they keep their files), and its jobs."""
    from pachlite.pps.commitset import squash_commit_set
    squash_commit_set(open_pfs(), commit_set)


@delete.command("commit")
@click.argument("commit_set", metavar="COMMIT_SET")
def delete_commit(commit_set: str) -> None:
    """Drop a commit set whose commits are all branch heads: each branch goes back to the
    commit's parent, and the set's jobs go."""
    from pachlite.pps.commitset import drop_commit_set
    drop_commit_set(open_pfs(), commit_set)
