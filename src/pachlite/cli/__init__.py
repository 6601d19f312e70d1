"""The `pachlite` command: pachctl's verbs over the library. Only this module prints.

Every PachliteError is caught once, in `main`, and shown as one line with exit status 1.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import sys

import click

from pachlite.cli import pretty
from pachlite.pfs.address import Address, parse
from pachlite.errors import InvalidInput, PachliteError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _open():
    from pachlite.pfs import PFS
    from pachlite.store import Store
    return PFS(Store())


def _raw(obj) -> None:
    def conv(o):
        if dataclasses.is_dataclass(o):
            return dataclasses.asdict(o)
        if isinstance(o, (list, tuple)):
            return [conv(x) for x in o]
        return o
    click.echo(json.dumps(conv(obj), indent=2, sort_keys=False))


def _addr(text: str, **kw) -> Address:
    return parse(text, **kw)


def _branch(text: str) -> Address:
    """A `repo@branch` argument: a commit id or ancestry there would name no branch."""
    a = parse(text, path_allowed=False)
    if a.commit or a.ancestry:
        raise InvalidInput(f"{text!r} names a commit, not a branch",
                           f"write it as {a.repo}@BRANCH, e.g. {a.repo}@{a.branch or 'master'}")
    return a


raw_option = click.option("--raw", is_flag=True, help="Print JSON instead of a table.")


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


# ---- repos -------------------------------------------------------------------------------

@create.command("repo")
@click.argument("name")
@click.option("-d", "--description", default="")
def create_repo(name: str, description: str) -> None:
    """Create a new repo."""
    _open().create_repo(name, description)


@list_.command("repo")
@raw_option
def list_repo(raw: bool) -> None:
    """List repos with their size on master and creation time."""
    repos = _open().list_repo()
    if raw:
        return _raw(repos)
    click.echo(pretty.table(["NAME", "CREATED", "SIZE (MASTER)", "DESCRIPTION"],
                            [(r.name, pretty.ago(r.created), pretty.size(r.size), r.description)
                             for r in repos]))


@inspect.command("repo")
@click.argument("name")
@raw_option
def inspect_repo(name: str, raw: bool) -> None:
    """Show a repo."""
    r = _open().inspect_repo(name)
    if raw:
        return _raw(r)
    click.echo(f"Name: {r.name}\nDescription: {r.description}\nCreated: {pretty.ago(r.created)}\n"
               f"Size of HEAD on master: {pretty.size(r.size)}\nBranches: {', '.join(r.branches)}")


@delete.command("repo")
@click.argument("name")
@click.option("-f", "--force", is_flag=True, help="Delete even if pipelines read from it.")
def delete_repo(name: str, force: bool) -> None:
    """Delete a repo with all its commits (contents shared with other repos are kept)."""
    pfs = _open()
    from pachlite.pps.pipeline import guard_repo_delete
    guard_repo_delete(pfs, name, force)
    pfs.delete_repo(name)


# ---- branches and commits ------------------------------------------------------------------

@create.command("branch")
@click.argument("branch_addr", metavar="REPO@BRANCH")
@click.option("--head", help="Commit (or branch) the branch points at, e.g. model@master^ to roll back.")
def create_branch(branch_addr: str, head: str | None) -> None:
    """Create a branch, or move it to another head."""
    a = _branch(branch_addr)
    if not a.branch:
        raise InvalidInput(f"{branch_addr!r} names no branch", "write it as repo@branch")
    h = None
    if head:
        h = _addr(head if "@" in head else f"{a.repo}@{head}", path_allowed=False)
    _open().create_branch(a.repo, a.branch, h)


@list_.command("branch")
@click.argument("repo")
@raw_option
def list_branch(repo: str, raw: bool) -> None:
    """List the branches of a repo."""
    bs = _open().list_branch(repo)
    if raw:
        return _raw(bs)
    click.echo(pretty.table(["BRANCH", "HEAD"], [(b.name, b.head or "-") for b in bs]))


def _commit_rows(cs):
    return [(c.repo, c.branch or "-", c.id,
             pretty.ago(c.finished) if c.finished else "-",
             pretty.size(c.size) if c.finished else "-", c.origin,
             c.description) for c in cs]


@list_.command("commit")
@click.argument("repo_addr", metavar="REPO[@BRANCH]")
@click.option("-n", "--number", type=int, help="At most this many commits.")
@raw_option
def list_commit(repo_addr: str, number: int | None, raw: bool) -> None:
    """List commits, newest first."""
    a = _addr(repo_addr, path_allowed=False)
    cs = _open().list_commit(a.repo, a.branch or ("master" if a.ancestry and not a.commit else None),
                             number, a.ancestry, a.commit)
    if raw:
        return _raw(cs)
    click.echo(pretty.table(["REPO", "BRANCH", "COMMIT", "FINISHED", "SIZE", "ORIGIN",
                             "DESCRIPTION"], _commit_rows(cs)))


@inspect.command("commit")
@click.argument("commit_addr", metavar="REPO@BRANCH|REPO@COMMIT")
@raw_option
def inspect_commit(commit_addr: str, raw: bool) -> None:
    """Show a commit: parent, times, size and provenance."""
    c = _open().resolve(_addr(commit_addr, path_allowed=False))
    if raw:
        return _raw(c)
    import datetime as dt

    def ts(t):
        return dt.datetime.fromtimestamp(t).isoformat(timespec="seconds") if t else "-"
    lines = [f"Commit: {c.repo}@{c.id}", f"Original Branch: {c.branch or '-'}",
             f"Origin: {c.origin}", f"Parent: {c.parent or '<none>'}",
             f"Started: {ts(c.started)} ({pretty.ago(c.started)})",
             f"Finished: {ts(c.finished)}" + (f" ({pretty.ago(c.finished)})" if c.finished else ""),
             f"Size: {pretty.size(c.size)}",
             f"Description: {c.description}" if c.description else None,
             "Provenance: " + (", ".join(f"{r}@{b}={i}" if b else f"{r}@{i}"
                                         for r, b, i in c.provenance) or "<none>")]
    click.echo("\n".join(x for x in lines if x is not None))


@start.command("commit")
@click.argument("branch_addr", metavar="REPO@BRANCH")
@click.option("-m", "--message", "--description", "description", default="")
def start_commit(branch_addr: str, description: str) -> None:
    """Start a commit; put files into it, then finish it."""
    a = _branch(branch_addr)
    click.echo(_open().start_commit(a.repo, a.branch or "master", description).id)


@finish.command("commit")
@click.argument("commit_addr", metavar="REPO@BRANCH|REPO@COMMIT")
@click.option("-m", "--message", "--description", "description", default=None)
def finish_commit(commit_addr: str, description: str | None) -> None:
    """Finish an open commit."""
    _open().finish_commit(_addr(commit_addr, path_allowed=False), description)


# ---- files ---------------------------------------------------------------------------------

@put.command("file")
@click.argument("file_addr", metavar="REPO@BRANCH[:/PATH]")
@click.option("-f", "--file", "files", multiple=True, required=True,
              help="Local file or directory ('-' for stdin); repeatable.")
@click.option("-r", "--recursive", is_flag=True, help="Upload directories recursively.")
@click.option("-a", "--append", is_flag=True, help="Append to an existing file instead of overwriting.")
@click.option("-m", "--message", "description", default="", help="Commit description.")
@click.option("--sync", is_flag=True,
              help="pachlite: make PATH hold exactly these files (deleting others); commit only "
                   "if the content changed; create the repo if missing.")
@click.option("--head-file", type=click.Path(dir_okay=False),
              help="pachlite: afterwards, write the branch's head commit id here (for Snakemake).")
def put_file(file_addr: str, files: tuple[str, ...], recursive: bool, append: bool,
             description: str, sync: bool, head_file: str | None) -> None:
    """Put files into a repo: one commit (or into the open commit of the branch).

    Files are named as pachctl 2.x names them:

    \b
      put file images@master -f a.png            ->  /a.png
      put file images@master:/b.png -f a.png     ->  /b.png
      put file images@master -r -f photos        ->  /photos/...
      put file images@master:/in -r -f photos    ->  /in/...
      put file images@master:/in -f a -f b       ->  /in/a, /in/b
      cat a.png | put file images@master:/a.png -f -
    """
    from pachlite.pfs import collect_sources
    a = _addr(file_addr)
    pfs = _open()
    if not sync:
        pfs.inspect_repo(a.repo)
    sources = collect_sources(a.path, files, recursive, file_addr)
    if not sources and not sync:
        raise InvalidInput(f"nothing to put from {', '.join(files)}", "give a non-empty file or directory",
                           where=file_addr)
    if sync:
        from pachlite.pfs.ingest import sync as sync_files
        if append:
            raise InvalidInput("--sync and --append do not go together", "drop one of them")
        sync_files(pfs, a, sources, description)
    else:
        pfs.put_files(a, sources, append=append, description=description)
    if head_file:
        from pachlite.snake import write_head
        write_head(pfs.store.root, a.repo, head_file, a.branch or "master")


@get.command("file")
@click.argument("file_addr", metavar="REPO@BRANCH:/PATH")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this local file.")
def get_file(file_addr: str, output: str | None) -> None:
    """Print a file's content (or write it with -o)."""
    import shutil
    a = _addr(file_addr)
    src = _open().get_file(a)
    with src:
        if not output:
            shutil.copyfileobj(src, sys.stdout.buffer)
            return
        import os
        import tempfile
        d = os.path.dirname(os.path.abspath(output))
        if not os.path.isdir(d):
            raise InvalidInput(f"folder {d} does not exist", "create it first or choose another -o",
                               where=output)
        # Written aside and renamed, so -o never leaves a half-written file behind.
        fd, tmp = tempfile.mkstemp(dir=d, prefix=".pachlite-")
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(src, out)
            os.replace(tmp, output)
        except BaseException:
            os.unlink(tmp)
            raise


def _file_rows(fs):
    return [(f.path, f.type, pretty.size(f.size)) for f in fs]


@list_.command("file")
@click.argument("file_addr", metavar="REPO@BRANCH[:/PATH]")
@raw_option
def list_file(file_addr: str, raw: bool) -> None:
    """List the files and directories at a path."""
    fs = _open().list_file(_addr(file_addr))
    if raw:
        return _raw(fs)
    click.echo(pretty.table(["NAME", "TYPE", "SIZE"], _file_rows(fs)))


@inspect.command("file")
@click.argument("file_addr", metavar="REPO@BRANCH:/PATH")
@raw_option
def inspect_file(file_addr: str, raw: bool) -> None:
    """Show a file's path, type, size and content hash."""
    f = _open().inspect_file(_addr(file_addr))
    if raw:
        return _raw(f)
    click.echo(f"Path: {f.path}\nType: {f.type}\nSize: {pretty.size(f.size)}\n"
               f"Hash: {f.hash or '-'}\nCommit: {f.commit}")


@glob_.command("file")
@click.argument("pattern_addr", metavar="REPO@BRANCH:PATTERN")
@raw_option
def glob_file(pattern_addr: str, raw: bool) -> None:
    """List what a glob pattern matches: what a pipeline would see as datums."""
    head, sep, pattern = pattern_addr.partition(":")
    if not sep:
        raise InvalidInput(f"{pattern_addr!r} has no pattern", "write it as repo@branch:/pattern")
    fs = _open().glob_file(_addr(head, path_allowed=False), pattern)
    if raw:
        return _raw(fs)
    click.echo(pretty.table(["NAME", "TYPE", "SIZE"], _file_rows(fs)))


@delete.command("file")
@click.argument("file_addr", metavar="REPO@BRANCH:/PATH")
def delete_file(file_addr: str) -> None:
    """Delete a file or directory in a new commit."""
    a = _addr(file_addr)
    if a.path is None:
        raise InvalidInput(f"{file_addr!r} names no path", "write it as repo@branch:/path")
    _open().delete_file(a)


@diff.command("file")
@click.argument("new_addr", metavar="REPO@BRANCH[:/PATH]")
@click.argument("old_addr", metavar="[OLD_REPO@COMMIT[:/PATH]]", required=False)
@raw_option
def diff_file(new_addr: str, old_addr: str | None, raw: bool) -> None:
    """Show files added, deleted or modified since OLD (default: the parent commit)."""
    changes = _open().diff_file(_addr(new_addr), _addr(old_addr) if old_addr else None)
    if raw:
        return _raw(changes)
    click.echo(pretty.table(["OP", "NAME", "SIZE"],
                            [({"added": "+", "deleted": "-", "modified": "~"}[c.status], c.path,
                              pretty.size(c.size)) for c in changes]))


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


def _register() -> None:
    # Pipeline, job and spec verbs live beside their modules; registered here so that
    # `pachlite --help` lists every verb.
    from pachlite.cli import pps as pps_cli
    from pachlite.cli import spec as spec_cli
    pps_cli.register(cli, create=create, list_=list_, inspect=inspect, delete=delete)
    spec_cli.register(cli)


_register()


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
