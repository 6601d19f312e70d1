"""The `pachlite` command: pachctl's verbs over the library. Only this package prints.

groups.py has the verb groups (create, list, inspect, ...); each noun module (repo, branch,
commit, file, pipeline, job, datum, spec, fsck) puts its commands onto them when imported here;
output.py has what the nouns share. Every PachliteError is caught once, in `main`, and shown as
one line with exit status 1.
"""

from __future__ import annotations

import sqlite3
import sys

import click

from pachlite.cli import branch, commit, datum, file, fsck, job, pipeline, repo, spec  # noqa: F401
from pachlite.cli.groups import cli
from pachlite.errors import PachliteError

__all__ = ["cli", "main"]


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except PachliteError as e:
        click.echo(f"pachlite: error: {e}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(1)
    except click.ClickException as e:
        e.show()
        sys.exit(1 if e.exit_code != 0 else 0)
    except BrokenPipeError:
        sys.exit(0)
    except sqlite3.Error as e:
        fix = ("wait for the other pachlite process and run the command again" if "locked" in str(e)
               else "run 'pachlite fsck', or restore the store from a backup")
        click.echo(f"pachlite: error: the store's database: {e}; {fix}", err=True)
        sys.exit(1)
    except OSError as e:
        # e.g. a full disk or an unreadable store: the cause, without a traceback.
        click.echo(f"pachlite: error: {e}; check the path and its permissions", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
