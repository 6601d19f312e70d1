"""The `pachlite` command: pachctl's verbs over the library. Only this package prints.

groups.py has the verb groups (create, list, inspect, ...); each noun module (project, repo, branch,
commit, file, pipeline, job, datum, spec, admin) puts its commands onto them when imported;
output.py has what the nouns share. Every PachliteError is caught once, in `main`, and shown as
one line with exit status 1.
"""

from __future__ import annotations

import errno
import importlib
import sqlite3
import sys

import click

from pachlite.cli.groups import cli
from pachlite.errors import PachliteError

__all__ = ["cli", "main"]

NOUNS = ("project", "repo", "branch", "commit", "file", "pipeline", "job", "datum", "secret", "spec",
         "admin")
# The module of each top-level command that is not a verb group. The nouns are imported when a
# command is looked up, so that `pachlite run`, which every Snakemake rule runs, imports only
# pipeline.py; any other name, and --help, imports them all.
HOMES = {"run": "pipeline", "logs": "job", "fsck": "admin", "gc": "admin", "version": "admin",
         "generate": "spec", "deploy": "spec"}


def _load(name: str | None) -> None:
    if name in HOMES:
        importlib.import_module(f"pachlite.cli.{HOMES[name]}")
        if name in cli.commands:
            return
    for noun in NOUNS:
        importlib.import_module(f"pachlite.cli.{noun}")


cli.load = _load


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except PachliteError as e:
        click.echo(f"pachlite: error: {e}", err=True)
        sys.exit(1)
    except click.exceptions.Abort as e:
        from pachlite.pps.lock import Stopped  # click turns a KeyboardInterrupt into Abort
        if isinstance(e.__cause__, Stopped):
            click.echo("pachlite: error: stopped by SIGTERM; the job was marked killed and keeps the "
                       "datums it finished; run 'pachlite run' to finish it", err=True)
            sys.exit(143)
        click.echo("Aborted!", err=True)
        sys.exit(1)
    except click.ClickException as e:
        e.show()
        sys.exit(1 if e.exit_code != 0 else 0)
    except BrokenPipeError:
        sys.exit(0)
    except sqlite3.Error as e:
        if getattr(e, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_FULL:
            _disk_full()
        fix = ("wait for the other pachlite process and run the command again" if "locked" in str(e)
               else "run 'pachlite fsck', or restore the store from a backup")
        click.echo(f"pachlite: error: the store's database: {e}; {fix}", err=True)
        sys.exit(1)
    except OSError as e:
        if e.errno == errno.ENOSPC:
            _disk_full()
        # e.g. an unreadable store: the cause, without a traceback.
        click.echo(f"pachlite: error: {e}; check the path and its permissions", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


def _disk_full() -> None:
    # A full disk is not damage: say so, not "restore from a backup".
    from pachlite.store import default_root
    click.echo(f"pachlite: error: the disk holding {default_root()} is full; free space and run the "
               "command again", err=True)
    sys.exit(1)
