"""The `pachlite` group and its verb groups (create, list, inspect, ...), as pachctl has them.

The noun modules (project, repo, branch, commit, file, pipeline, job, datum, spec, fsck) decorate their
commands onto these groups when they are imported; this module imports none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from collections.abc import Callable

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Root(click.Group):
    """The `pachlite` group. Before it looks a command up, `load` (set by pachlite.cli, which
    knows the noun modules) imports the modules that command needs: None means all of them."""

    load: Callable[[str | None], None] | None = None

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if self.load:
            self.load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        if self.load:
            self.load(None)
        return super().list_commands(ctx)


@click.group(cls=Root, context_settings=CONTEXT)
@click.version_option(package_name="pachlite")
def cli() -> None:
    """pachlite: Pachyderm's versioned data and pipelines on a laptop.

    Addresses follow pachctl: repo@branch, repo@branch=commit, repo@commit, master^ or
    master~2 for ancestors, then :/path. A repo outside the default project is named with
    --project, or as project/repo.
    """


@cli.group(context_settings=CONTEXT)
def create() -> None:
    """Create a project, repo, branch or pipeline."""


@cli.group("list", context_settings=CONTEXT)
def list_() -> None:
    """List projects, repos, branches, commits, files, pipelines, jobs or datums."""


@cli.group(context_settings=CONTEXT)
def inspect() -> None:
    """Show the details of a repo, branch, commit, file, pipeline, job or datum."""


@cli.group(context_settings=CONTEXT)
def delete() -> None:
    """Delete a repo, branch, file or pipeline."""


@cli.group(context_settings=CONTEXT)
def put() -> None:
    """Put data into a repo."""


@cli.group(context_settings=CONTEXT)
def get() -> None:
    """Get data out of a repo."""


@cli.group("glob", context_settings=CONTEXT)
def glob_() -> None:
    """Match files with a glob pattern."""


@cli.group(context_settings=CONTEXT)
def diff() -> None:
    """Compare two commits."""


@cli.group(context_settings=CONTEXT)
def start() -> None:
    """Start a commit, or restart a stopped pipeline."""


@cli.group(context_settings=CONTEXT)
def stop() -> None:
    """Stop a job or a pipeline."""


@cli.group(context_settings=CONTEXT)
def copy() -> None:
    """Copy files between pfs paths."""


@cli.group(context_settings=CONTEXT)
def find() -> None:
    """Find the commits that changed a file."""


@cli.group(context_settings=CONTEXT)
def subscribe() -> None:
    """Print commits as they are created (finished)."""


@cli.group(context_settings=CONTEXT)
def finish() -> None:
    """Finish a commit."""


@cli.group("update", context_settings=CONTEXT)
def update() -> None:
    """Update a pipeline or project."""


@cli.group("upgrade", context_settings=CONTEXT)
def upgrade() -> None:
    """Upgrade Pachyderm 1.x specs."""


@cli.group("restart", context_settings=CONTEXT)
def restart() -> None:
    """Retry a failed job's datums."""
@cli.group(context_settings=CONTEXT)
def wait() -> None:
    """Wait for a commit or job to finish."""


@cli.group(context_settings=CONTEXT)
def squash() -> None:
    """Squash a commit set into its children."""
