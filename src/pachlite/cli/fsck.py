"""`pachlite fsck`: check the store's objects and references."""

from __future__ import annotations

import click

from pachlite.cli.groups import cli
from pachlite.errors import PachliteError


@cli.command()
def fsck() -> None:
    """Verify every object's hash and every reference in the store."""
    from pachlite.store import Store, fsck as run_fsck
    problems = run_fsck(Store(create=False))
    for p in problems:
        click.echo(p)
    if problems:
        raise PachliteError(f"fsck found {len(problems)} problem(s)",
                            "restore the store from a backup or re-ingest the affected repos")
    click.echo("no problems found")
