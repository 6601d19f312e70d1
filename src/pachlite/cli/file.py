"""File verbs: put, get, list, inspect, glob, delete, copy and diff file."""

from __future__ import annotations

import sys

import click

from pachlite.cli import pretty, raw as rawjson
from pachlite.cli.groups import copy, delete, diff, get, glob_, inspect, list_, put
from pachlite.cli.output import echo_table, open_pfs, parse_address, project_option, raw_option
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
    return ((f.path, f.type, pretty.size(f.size)) for f in fs)


@list_.command("file")
@click.argument("file_addr", metavar="REPO@BRANCH[:/PATH]")
@raw_option
@project_option
def list_file(file_addr: str, raw: bool) -> None:
    """Return the files in a directory."""
    a = parse_address(file_addr)
    fs = open_pfs().list_file(a)  # made as they are read, and printed so
    if raw:
        return rawjson.emit(rawjson.file_info(f, a.repo) for f in fs)
    echo_table(["NAME", "TYPE", "SIZE"], _file_rows(fs))


@inspect.command("file")
@click.argument("file_addr", metavar="REPO@BRANCH:/PATH")
@raw_option
@project_option
def inspect_file(file_addr: str, raw: bool) -> None:
    """Return info about a file."""
    a = parse_address(file_addr)
    f = open_pfs().inspect_file(a)
    if raw:
        return rawjson.emit(rawjson.file_info(f, a.repo))
    # pachctl's PrintDetailedFileInfo; a file outside a datum's output has an empty Datum.
    click.echo(f"Path: {f.path}\nDatum: \nType: {f.type}\nSize: {pretty.size(f.size)}")


@glob_.command("file")
@click.argument("pattern_addr", metavar="REPO@BRANCH:PATTERN")
@raw_option
@project_option
def glob_file(pattern_addr: str, raw: bool) -> None:
    """Return files that match a glob pattern in a commit: what a pipeline would see as datums."""
    head, sep, pattern = pattern_addr.partition(":")
    if not sep:
        raise InvalidInput(f"{pattern_addr!r} has no pattern", "write it as repo@branch:/pattern")
    a = parse_address(head, path_allowed=False)
    fs = open_pfs().glob_file(a, pattern)
    if raw:
        return rawjson.emit(rawjson.file_info(f, a.repo) for f in fs)
    echo_table(["NAME", "TYPE", "SIZE"], _file_rows(fs))


@delete.command("file")
@click.argument("file_addr", metavar="REPO@BRANCH:/PATH")
@project_option
def delete_file(file_addr: str) -> None:
    """Delete a file or directory in a new commit."""
    a = parse_address(file_addr)
    if a.path is None:
        raise InvalidInput(f"{file_addr!r} names no path", "write it as repo@branch:/path")
    open_pfs().delete_file(a)


@copy.command("file")
@click.argument("src_addr", metavar="SRC_REPO@SRC_BRANCH_OR_COMMIT:SRC_PATH")
@click.argument("dst_addr", metavar="DST_REPO@DST_BRANCH:DST_PATH")
@click.option("-a", "--append", is_flag=True,
              help="Append to the existing content of the file, either from previous commits or "
                   "previous calls to 'put file' within this commit.")
@project_option
def copy_file(src_addr: str, dst_addr: str, append: bool) -> None:
    """Copy files between pfs paths: a file, or a directory with everything under it, in one
    commit on the destination branch (or into its open commit). Contents are not copied: both
    paths refer to the same stored objects."""
    src, dst = parse_address(src_addr), parse_address(dst_addr)
    for a, text in ((src, src_addr), (dst, dst_addr)):
        if a.path is None:
            raise InvalidInput(f"{text!r} names no path", "write it as repo@branch:/path")
    open_pfs().copy_file(src, dst, append=append)


@diff.command("file")
@click.argument("new_addr", metavar="NEW_REPO@NEW_BRANCH_OR_COMMIT[:NEW_PATH]")
@click.argument("old_addr", metavar="[OLD_REPO@OLD_BRANCH_OR_COMMIT[:OLD_PATH]]", required=False)
@click.option("-s", "--shallow", is_flag=True, help="Don't descend into sub directories.")
@click.option("--name-only", is_flag=True, help="Show only the names of changed files.")
@click.option("--diff-command", help="Use a program other than git to diff files.")
@project_option
def diff_file(new_addr: str, old_addr: str | None, shallow: bool, name_only: bool,
              diff_command: str | None) -> None:
    """Return a diff of two file trees: OLD (default: NEW's parent commit) to NEW.

    As pachctl: each changed file through `git diff --no-index` (or --diff-command); with
    --name-only, a table with '+' for the new version of a path and '-' for the old one.
    """
    new = parse_address(new_addr)
    pfs = open_pfs()
    changes = pfs.diff_file(new, parse_address(old_addr) if old_addr else None)
    if shallow:
        base = (new.path or "/").rstrip("/") + "/"
        changes = [c for c in changes if "/" not in c.path[len(base):]]
    if name_only:
        rows = []
        for c in changes:
            if c.status != "deleted":
                rows.append(("+", c.path, "file", pretty.size(c.size)))
            if c.status != "added":
                rows.append(("-", c.path, "file", pretty.size(c.size if c.old_size is None else c.old_size)))
        click.echo(pretty.table(["OP", "NAME", "TYPE", "SIZE"], rows))
        return
    _git_diff(pfs, new, parse_address(old_addr) if old_addr else None, changes, diff_command)


def _git_diff(pfs, new, old, changes, diff_command: str | None) -> None:
    """Each change through the diff program, old version first, /dev/null for a missing side
    (pachctl's dlFile and diffCommand)."""
    import os
    import shlex
    import shutil
    import subprocess
    import tempfile

    from pachlite.pfs.address import Address
    nc = pfs.resolve(new)
    oc = pfs.resolve(old) if old else (pfs.resolve(Address(nc.repo, commit=nc.parent)) if nc.parent else None)
    cmd = shlex.split(diff_command) if diff_command else (
        ["git", "-c", "color.ui=always", "--no-pager", "diff", "--no-index"] if shutil.which("git")
        else ["diff"])
    with tempfile.TemporaryDirectory(prefix="pachlite-diff-") as tmp:
        def local(c, path: str, side: str) -> str:
            target = os.path.join(tmp, side + path)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with pfs.get_file(Address(c.repo, commit=c.id, path=path)) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
            return target
        for ch in changes:
            o = local(oc, ch.path, "old") if ch.status != "added" else os.devnull
            n = local(nc, ch.path, "new") if ch.status != "deleted" else os.devnull
            sys.stdout.flush()
            try:
                # diff exits 1 when the files differ; only a failure to run is an error.
                p = subprocess.run([*cmd, o, n], stdout=sys.stdout)
            except OSError as e:
                raise InvalidInput(f"cannot run {cmd[0]}: {e.strerror}",
                                   "install git, or pass --diff-command") from None
            if p.returncode > 1:
                raise InvalidInput(f"{shlex.join(cmd)} exited with status {p.returncode}",
                                   "check --diff-command")
