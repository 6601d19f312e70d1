"""Repo verbs: create, list, inspect and delete repo."""

from __future__ import annotations

import click

from pachlite.cli import pretty
from pachlite.cli.groups import create, delete, inspect, list_
from pachlite.cli.output import name_key, open_pfs, print_raw, project_option, project_or_default, raw_option


@create.command("repo")
@click.argument("name")
@click.option("-d", "--description", default="")
@project_option
def create_repo(name: str, description: str) -> None:
    """Create a new repo (in an existing project)."""
    open_pfs().create_repo(name_key(name), description)


@list_.command("repo")
@raw_option
@project_option
@click.option("-A", "--all-projects", is_flag=True, help="List the repos of every project.")
def list_repo(raw: bool, all_projects: bool) -> None:
    """List the repos of a project with their size on master and creation time."""
    repos = open_pfs().list_repo(None if all_projects else project_or_default())
    if raw:
        return print_raw(repos)
    click.echo(pretty.table(["PROJECT", "NAME", "CREATED", "SIZE (MASTER)", "DESCRIPTION"],
                            [(r.project, r.name, pretty.ago(r.created), pretty.size(r.size),
                              r.description) for r in repos]))


@inspect.command("repo")
@click.argument("name")
@raw_option
@project_option
def inspect_repo(name: str, raw: bool) -> None:
    """Show a repo."""
    r = open_pfs().inspect_repo(name_key(name))
    if raw:
        return print_raw(r)
    click.echo(f"Name: {r.name}\nDescription: {r.description}\nCreated: {pretty.ago(r.created)}\n"
               f"Size of HEAD on master: {pretty.size(r.size)}\nBranches: {', '.join(r.branches)}")


@delete.command("repo")
@click.argument("name")
@click.option("-f", "--force", is_flag=True, help="Delete even if pipelines read from it.")
@project_option
def delete_repo(name: str, force: bool) -> None:
    """Delete a repo with all its commits (contents shared with other repos are kept)."""
    pfs = open_pfs()
    from pachlite.pps.pipeline import guard_repo_delete
    key = name_key(name)
    guard_repo_delete(pfs, key, force)
    pfs.delete_repo(key)
