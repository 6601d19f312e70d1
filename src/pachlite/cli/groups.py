"""The `pachlite` group and its verb groups (create, list, inspect, ...), as pachctl has them.

The noun modules (repo, branch, commit, file, pipeline, job, datum, spec, fsck) decorate their
commands onto these groups when they are imported; this module imports none of them.
"""

from __future__ import annotations

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="pachlite")
def cli() -> None:
    """pachlite: Pachyderm's versioned data and pipelines on a laptop.

    Addresses follow pachctl: repo@branch, repo@branch=commit, repo@commit, master^ or
    master~2 for ancestors, then :/path.
    """


@cli.group(context_settings=CONTEXT)
def create() -> None:
    """Create a repo, branch or pipeline."""


@cli.group("list", context_settings=CONTEXT)
def list_() -> None:
    """List repos, branches, commits, files, pipelines, jobs or datums."""


@cli.group(context_settings=CONTEXT)
def inspect() -> None:
    """Show the details of a repo, commit, file, pipeline, job or datum."""


@cli.group(context_settings=CONTEXT)
def delete() -> None:
    """Delete a repo, file or pipeline."""


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
    """Start a commit."""


@cli.group(context_settings=CONTEXT)
def finish() -> None:
    """Finish a commit."""


@cli.group("update", context_settings=CONTEXT)
def update() -> None:
    """Update a pipeline."""


@cli.group("upgrade", context_settings=CONTEXT)
def upgrade() -> None:
    """Upgrade Pachyderm 1.x specs."""
