"""Repo verbs: create, list, inspect and delete repo."""

from __future__ import annotations

import click

from pachlite.cli import pretty, raw as rawjson
from pachlite.cli.groups import create, delete, inspect, list_
from pachlite.cli.output import open_pfs, raw_option


@create.command("repo")
@click.argument("name")
@click.option("-d", "--description", default="", help="A description of the repo.")
def create_repo(name: str, description: str) -> None:
    """Create a new repo."""
    open_pfs().create_repo(name, description)


@list_.command("repo")
@raw_option
def list_repo(raw: bool) -> None:
    """List repos with their size on master and creation time."""
    repos = open_pfs().list_repo()
    if raw:
        return rawjson.emit(map(rawjson.repo_info, repos))
    click.echo(pretty.table(["NAME", "CREATED", "SIZE (MASTER)", "DESCRIPTION"],
                            [(r.name, pretty.ago(r.created), pretty.size(r.size), r.description)
                             for r in repos]))


@inspect.command("repo")
@click.argument("name")
@raw_option
def inspect_repo(name: str, raw: bool) -> None:
    """Show a repo."""
    r = open_pfs().inspect_repo(name)
    if raw:
        return rawjson.emit(rawjson.repo_info(r))
    click.echo(f"Name: {r.name}\nDescription: {r.description}\nCreated: {pretty.ago(r.created)}\n"
               f"Size of HEAD on master: {pretty.size(r.size)}\nBranches: {', '.join(r.branches)}")


@delete.command("repo")
@click.argument("name")
@click.option("-f", "--force", is_flag=True, help="Delete even if pipelines read from it.")
def delete_repo(name: str, force: bool) -> None:
    """Delete a repo with all its commits (contents shared with other repos are kept)."""
    pfs = open_pfs()
    from pachlite.pps.pipeline import guard_repo_delete
    guard_repo_delete(pfs, name, force)
    pfs.delete_repo(name)
