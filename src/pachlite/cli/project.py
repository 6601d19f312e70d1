"""Project verbs: create, update, list, inspect and delete project (pachctl 2.5+)."""

from __future__ import annotations

import datetime as dt

import click

from pachlite.cli import pretty
from pachlite.cli.groups import create, delete, inspect, list_, update
from pachlite.cli.output import open_pfs, print_raw, raw_option


@create.command("project")
@click.argument("name")
@click.option("-d", "--description", default="", help="Set a description for the new project.")
def create_project(name: str, description: str) -> None:
    """Create a new project."""
    open_pfs().create_project(name, description)


@update.command("project")
@click.argument("name")
@click.option("-d", "--description", default="", help="Set a new description of the project.")
def update_project(name: str, description: str) -> None:
    """Update a project's description."""
    open_pfs().create_project(name, description, update=True)


@list_.command("project")
@raw_option
def list_project(raw: bool) -> None:
    """List projects; `*` marks the active one (the default project: pachlite has no contexts)."""
    from pachlite.pfs.address import DEFAULT_PROJECT
    ps = open_pfs().list_project()
    if raw:
        return print_raw(ps)
    click.echo(pretty.table(["ACTIVE", "PROJECT", "CREATED", "DESCRIPTION"],
                            [("*" if p.name == DEFAULT_PROJECT else "", p.name, pretty.ago(p.created),
                              p.description or "-") for p in ps]))


@inspect.command("project")
@click.argument("name")
@raw_option
def inspect_project(name: str, raw: bool) -> None:
    """Show a project: its name, description and when it was made."""
    p = open_pfs().inspect_project(name)
    if raw:
        return print_raw(p)
    created = dt.datetime.fromtimestamp(p.created, dt.timezone.utc).astimezone()
    lines = [f"Name: {p.name}", f"Description: {p.description}" if p.description else None,
             f"Created at: {created.isoformat(timespec='seconds')}"]
    click.echo("\n".join(x for x in lines if x is not None))


@delete.command("project")
@click.argument("name")
@click.option("-f", "--force", is_flag=True,
              help="Delete the project's pipelines and repos with it (pachd refuses a project "
                   "that still has repos).")
def delete_project(name: str, force: bool) -> None:
    """Delete a project."""
    from pachlite.pps.pipeline import delete_project as dp
    dp(open_pfs(), name, force)
