"""The store's upkeep: `pachlite fsck` checks its objects and references, `pachlite gc` removes
contents nothing refers to; `pachlite version` names pachlite's version and the store's format."""

from __future__ import annotations

import click

from pachlite.cli import pretty
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
                            "put the damaged files again (listed above), or restore the store from a backup")
    click.echo("no problems found")


@cli.command()
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@click.option("--min-age", type=float, default=3600, show_default=True, metavar="SECONDS",
              help="Keep unreferenced object files newer than this: a put may be about to use them.")
def gc(dry_run: bool, min_age: float) -> None:
    """Remove stored contents no commit, datum log or datum output refers to."""
    from pachlite.store import Store, gc as run_gc
    r = run_gc(Store(create=False), dry_run=dry_run, min_age=min_age)
    line = f"{'would remove' if dry_run else 'removed'} {r.objects} objects ({pretty.size(r.size)})"
    click.echo(line + (f"; kept {r.kept} newer than {min_age:g} s" if r.kept else ""))


@cli.command("version")
@click.option("--client-only", is_flag=True,
              help="If set, only print pachlite's version, without reading the store.")
def version(client_only: bool) -> None:
    """Print pachlite's version, and the format version of the store (pachctl prints pachd's)."""
    import pachlite
    if client_only:
        click.echo(pachlite.__version__)
        return
    from pachlite.store import FORMAT_VERSION, Store
    try:
        Store(create=False).close()
        store = f"format {FORMAT_VERSION}"
    except PachliteError:
        store = "- (no store here)"
    click.echo(pretty.table(["COMPONENT", "VERSION"], [("pachlite", pachlite.__version__),
                                                        ("store", store)]))
