"""File verbs: put, get, list, inspect, glob, delete and diff file."""

from __future__ import annotations

import sys

import click

from pachlite.cli import pretty
from pachlite.cli.groups import delete, diff, get, glob_, inspect, list_, put
from pachlite.cli.output import open_pfs, parse_address, print_raw, project_option, raw_option
from pachlite.errors import InvalidInput


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
@project_option
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
    a = parse_address(file_addr)
    pfs = open_pfs()
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
@click.option("-r", "--recursive", is_flag=True,
              help="Get a folder: every file under PATH, written under -o DIR.")
@click.option("-o", "--output", type=click.Path(),
              help="Write to this local file (with -r: into this folder, made if missing).")
@project_option
def get_file(file_addr: str, recursive: bool, output: str | None) -> None:
    """Print a file's content, or write it (or with -r a folder) to -o.

    Files are written as pachctl 2.x writes them, all or none (no half-written file is left):

    \b
      get file data@master:/a.csv -o a.csv          ->  a.csv
      get file data@master:/in -r -o out            ->  out/<each path under /in>
      get file data@master:/ -r -o out              ->  out/<each path of the commit>
    """
    from pachlite.pfs.pull import pull
    a = parse_address(file_addr)
    if recursive and not output:
        raise InvalidInput("-r writes files into a folder, so it needs one",
                           f"add -o DIR, e.g. pachlite get file {file_addr} -r -o out", where=file_addr)
    pfs = open_pfs()
    if recursive:
        pull(pfs, a, output)
        return
    src = pfs.get_file(a)  # a folder is refused here, naming -r
    with src:
        if output:
            pull(pfs, a, output)
        else:
            import shutil
            shutil.copyfileobj(src, sys.stdout.buffer)


def _file_rows(fs):
    return [(f.path, f.type, pretty.size(f.size)) for f in fs]


@list_.command("file")
@click.argument("file_addr", metavar="REPO@BRANCH[:/PATH]")
@raw_option
@project_option
def list_file(file_addr: str, raw: bool) -> None:
    """List the files and directories at a path."""
    fs = open_pfs().list_file(parse_address(file_addr))
    if raw:
        return print_raw(fs)
    click.echo(pretty.table(["NAME", "TYPE", "SIZE"], _file_rows(fs)))


@inspect.command("file")
@click.argument("file_addr", metavar="REPO@BRANCH:/PATH")
@raw_option
@project_option
def inspect_file(file_addr: str, raw: bool) -> None:
    """Show a file's path, type, size and content hash."""
    f = open_pfs().inspect_file(parse_address(file_addr))
    if raw:
        return print_raw(f)
    click.echo(f"Path: {f.path}\nType: {f.type}\nSize: {pretty.size(f.size)}\n"
               f"Hash: {f.hash or '-'}\nCommit: {f.commit}")


@glob_.command("file")
@click.argument("pattern_addr", metavar="REPO@BRANCH:PATTERN")
@raw_option
@project_option
def glob_file(pattern_addr: str, raw: bool) -> None:
    """List what a glob pattern matches: what a pipeline would see as datums."""
    head, sep, pattern = pattern_addr.partition(":")
    if not sep:
        raise InvalidInput(f"{pattern_addr!r} has no pattern", "write it as repo@branch:/pattern")
    fs = open_pfs().glob_file(parse_address(head, path_allowed=False), pattern)
    if raw:
        return print_raw(fs)
    click.echo(pretty.table(["NAME", "TYPE", "SIZE"], _file_rows(fs)))


@delete.command("file")
@click.argument("file_addr", metavar="REPO@BRANCH:/PATH")
@project_option
def delete_file(file_addr: str) -> None:
    """Delete a file or directory in a new commit."""
    a = parse_address(file_addr)
    if a.path is None:
        raise InvalidInput(f"{file_addr!r} names no path", "write it as repo@branch:/path")
    open_pfs().delete_file(a)


@diff.command("file")
@click.argument("new_addr", metavar="REPO@BRANCH[:/PATH]")
@click.argument("old_addr", metavar="[OLD_REPO@COMMIT[:/PATH]]", required=False)
@raw_option
@project_option
def diff_file(new_addr: str, old_addr: str | None, raw: bool) -> None:
    """Show files added, deleted or modified since OLD (default: the parent commit)."""
    changes = open_pfs().diff_file(parse_address(new_addr),
                                   parse_address(old_addr) if old_addr else None)
    if raw:
        return print_raw(changes)
    click.echo(pretty.table(["OP", "NAME", "SIZE"],
                            [({"added": "+", "deleted": "-", "modified": "~"}[c.status], c.path,
                              pretty.size(c.size)) for c in changes]))
