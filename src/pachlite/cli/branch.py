"""Branch verbs: create and list branch."""

from __future__ import annotations

import click

from pachlite.cli import pretty
from pachlite.cli.groups import create, list_
from pachlite.cli.output import name_key, open_pfs, parse_address, parse_branch, print_raw, project_option, raw_option
from pachlite.errors import InvalidInput


@create.command("branch")
@click.argument("branch_addr", metavar="REPO@BRANCH")
@click.option("--head", help="Commit (or branch) the branch points at, e.g. model@master^ to roll back.")
@project_option
def create_branch(branch_addr: str, head: str | None) -> None:
    """Create a branch, or move it to another head."""
    a = parse_branch(branch_addr)
    if not a.branch:
        raise InvalidInput(f"{branch_addr!r} names no branch", "write it as repo@branch")
    h = None
    if head:
        h = parse_address(head if "@" in head else f"{a.repo}@{head}", path_allowed=False)
    open_pfs().create_branch(a.repo, a.branch, h)


@list_.command("branch")
@click.argument("repo")
@raw_option
@project_option
def list_branch(repo: str, raw: bool) -> None:
    """List the branches of a repo."""
    bs = open_pfs().list_branch(name_key(repo))
    if raw:
        return print_raw(bs)
    click.echo(pretty.table(["BRANCH", "HEAD"], [(b.name, b.head or "-") for b in bs]))
