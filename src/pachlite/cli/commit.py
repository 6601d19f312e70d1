"""Commit verbs: list, inspect, start, finish, find, subscribe and wait commit; squash and delete a
commit set."""

from __future__ import annotations

import re

import click

from pachlite.cli import pretty, raw as rawjson
from pachlite.cli.groups import delete, find, finish, inspect, list_, squash, start, subscribe, wait
from pachlite.cli.output import open_pfs, parse_address, parse_branch, project_option, raw_option, reader_gone
from pachlite.pfs.address import split_key

# A commit set's id, as pachctl tells one from a repo name: a UUID without dashes.
COMMIT_SET = re.compile(r"[0-9a-f]{32}")


def _commit_rows(cs):
    return [(*split_key(c.repo), c.branch or "-", c.id,
             pretty.ago(c.finished) if c.finished else "-",
             pretty.size(c.size) if c.finished else "-", c.origin,
             c.description) for c in cs]


ORIGINS = ("USER", "AUTO", "FSCK")


@list_.command("commit")
@click.argument("repo_addr", metavar="[REPO[@BRANCH_OR_COMMIT]|COMMIT_SET]", required=False)
@click.option("-f", "--from", "from_", metavar="COMMIT", help="list all commits since this commit")
@click.option("-n", "--number", type=int, default=0,
              help="list only this many commits; if set to zero, list all commits")
@click.option("--all", "all_", is_flag=True, help="return all types of commits, including aliases "
              "(pachlite makes no alias commits: every commit is listed either way)")
@click.option("--origin", type=click.Choice(ORIGINS, case_sensitive=False),
              help="only return commits of a specific type")
@raw_option
@project_option
def list_commit(repo_addr: str | None, from_: str | None, number: int, all_: bool,
                origin: str | None, raw: bool) -> None:
    """Return a list of commits, newest first: of a repo or branch, of a commit set (its id), or
    with no argument, of every repo."""
    from pachlite.errors import InvalidInput
    if all_ and origin:
        raise InvalidInput("cannot specify both --all and --origin", "drop one of them")
    pfs = open_pfs()
    if repo_addr is None:
        if from_:
            raise InvalidInput("cannot specify --from when listing all commits", "name a repo")
        cs = pfs.list_all_commits()
    elif COMMIT_SET.fullmatch(repo_addr) and repo_addr not in {r.name for r in pfs.list_repo()}:
        from pachlite.pps.commitset import list_commit_set
        cs = list_commit_set(pfs, repo_addr)
    else:
        a = parse_address(repo_addr, path_allowed=False)
        cs = pfs.list_commit(a.repo, a.branch or ("master" if a.ancestry and not a.commit else None),
                             None, a.ancestry, a.commit)
        if from_:
            start = pfs.resolve(parse_address(from_ if "@" in from_ else f"{a.repo}@{from_}",
                                              path_allowed=False)).id
            ids = [c.id for c in cs]
            cs = cs[:ids.index(start)] if start in ids else cs
    if origin:
        cs = [c for c in cs if c.origin == origin.upper()]
    cs = cs[:number] if number else cs
    if raw:
        return rawjson.emit(rawjson.commit_info(c, rawjson.direct_provenance(pfs, c)) for c in cs)
    click.echo(pretty.table(["PROJECT", "REPO", "BRANCH", "COMMIT", "FINISHED", "SIZE", "ORIGIN",
                             "DESCRIPTION"], _commit_rows(cs)))


@inspect.command("commit")
@click.argument("commit_addr", metavar="REPO@BRANCH|REPO@COMMIT")
@raw_option
@project_option
def inspect_commit(commit_addr: str, raw: bool) -> None:
    """Show a commit: parent, times, size and provenance."""
    pfs = open_pfs()
    _print_commit(pfs, pfs.resolve(parse_address(commit_addr, path_allowed=False)), raw)


def _print_commit(pfs, c, raw: bool) -> None:
    if raw:
        return rawjson.emit(rawjson.commit_info(c, rawjson.direct_provenance(pfs, c)))
    import datetime as dt

    def ts(t):
        return dt.datetime.fromtimestamp(t).isoformat(timespec="seconds") if t else "-"
    lines = [f"Commit: {c.repo}@{c.id}", f"Original Branch: {c.branch or '-'}",
             f"Origin: {c.origin}", f"Parent: {c.parent or '<none>'}",
             f"Started: {ts(c.started)} ({pretty.ago(c.started)})",
             f"Finished: {ts(c.finished)}" + (f" ({pretty.ago(c.finished)})" if c.finished else ""),
             f"Size: {pretty.size(c.size)}",
             f"Error: {c.error}" if c.error else None,
             f"Description: {c.description}" if c.description else None,
             "Provenance: " + (", ".join(f"{r}@{b}={i}" if b else f"{r}@{i}"
                                         for r, b, i in c.provenance) or "<none>")]
    click.echo("\n".join(x for x in lines if x is not None))


@start.command("commit")
@click.argument("branch_addr", metavar="REPO@BRANCH")
@click.option("-m", "--message", "--description", "description", default="",
              help="A description of this commit's contents.")
@project_option
def start_commit(branch_addr: str, description: str) -> None:
    """Start a commit; put files into it, then finish it."""
    a = parse_branch(branch_addr)
    click.echo(open_pfs().start_commit(a.repo, a.branch or "master", description).id)


@finish.command("commit")
@click.argument("commit_addr", metavar="REPO@BRANCH|REPO@COMMIT")
@click.option("-m", "--message", "--description", "description", default=None,
              help="A description of this commit's contents (overwrites any existing commit "
                   "description).")
@project_option
def finish_commit(commit_addr: str, description: str | None) -> None:
    """Finish an open commit."""
    open_pfs().finish_commit(parse_address(commit_addr, path_allowed=False), description)


@find.command("commit")
@click.argument("file_addr", metavar="REPO@BRANCH_OR_COMMIT:PATH")
@click.option("--limit", type=click.IntRange(min=0), default=0,
              help="Number of matching commits to return (0: all)")
@project_option
def find_commit(file_addr: str, limit: int) -> None:
    """Find commits with reference to PATH within a branch starting from REPO@COMMIT: the
    commits, newest first, in which the file was put or deleted."""
    from pachlite.errors import InvalidInput
    a = parse_address(file_addr)
    if a.path is None:
        raise InvalidInput(f"{file_addr!r} names no path", "write it as repo@branch:/path")
    found, last = open_pfs().find_commits(a, limit)
    # pachctl's PrintFindCommits
    click.echo("FOUND IN COMMITS\n" + "".join(f"{c}\n" for c in found)
               + ("" if found else "no commits found.\n") + f"\nLAST SEARCHED COMMIT\n{last}")


@subscribe.command("commit")
@click.argument("branch_addr", metavar="REPO[@BRANCH]")
@click.option("--from", "from_", metavar="COMMIT", help="subscribe to all commits since this commit")
@click.option("--new", "new", is_flag=True, help="subscribe to only new commits created from now on")
@click.option("--all", "all_", is_flag=True, help="return all types of commits, including aliases "
              "(pachlite makes no alias commits)")
@click.option("--origin", type=click.Choice(ORIGINS, case_sensitive=False),
              help="only return commits of a specific type")
@raw_option
@project_option
def subscribe_commit(branch_addr: str, from_: str | None, new: bool, all_: bool,
                     origin: str | None, raw: bool) -> None:
    """Print commits as they are created (finished) in the branch: first the existing ones,
    oldest first (none with --new), then each new one as it finishes, until Ctrl-C or until
    nothing reads the output."""
    import sys
    import time

    from pachlite.errors import InvalidInput
    if new and from_:
        raise InvalidInput("--new and --from cannot be used together", "drop one of them")
    if all_ and origin:
        raise InvalidInput("cannot specify both --all and --origin", "drop one of them")
    a = parse_branch(branch_addr)
    branch = a.branch or "master"
    pfs = open_pfs()
    pfs.inspect_branch(a.repo, branch)

    def finished() -> list:
        """The branch's finished commits, oldest first."""
        cs = pfs.list_commit(a.repo, branch) if pfs.inspect_branch(a.repo, branch).head else []
        return [c for c in reversed(cs) if c.finished is not None]
    seen = {c.id for c in finished()} if new else set()
    if from_:
        start = pfs.resolve(parse_address(f"{a.repo}@{from_}", path_allowed=False)).id
        ids = [c.id for c in finished()]
        seen = set(ids[:ids.index(start) + 1]) if start in ids else set()
    header = not raw
    try:
        while True:
            for c in finished():
                if c.id in seen:
                    continue
                seen.add(c.id)
                if origin and c.origin != origin.upper():
                    continue
                if raw:
                    rawjson.emit(rawjson.commit_info(c, rawjson.direct_provenance(pfs, c)))
                else:
                    # A row per commit as it comes, in list commit's columns (a stream cannot
                    # align its rows with the ones not yet seen).
                    lines = pretty.table(["PROJECT", "REPO", "BRANCH", "COMMIT", "FINISHED", "SIZE",
                                          "ORIGIN", "DESCRIPTION"], _commit_rows([c])).splitlines()
                    click.echo("\n".join(lines if header else lines[1:]))
                    header = False
                sys.stdout.flush()
            if reader_gone():
                return
            time.sleep(0.2)
    except KeyboardInterrupt:
        return


@wait.command("commit")
@click.argument("commit_addr", metavar="REPO@BRANCH|REPO@COMMIT")
@raw_option
@project_option
def wait_commit(commit_addr: str, raw: bool) -> None:
    """Wait for a commit to finish (a job another process runs may be making it), then show it."""
    from pachlite.pps.commitset import wait_commit
    pfs = open_pfs()
    _print_commit(pfs, wait_commit(pfs, parse_address(commit_addr, path_allowed=False)), raw)


@squash.command("commit")
@click.argument("commit_set", metavar="COMMIT_SET")
def squash_commit(commit_set: str) -> None:
    """Remove a commit set whose commits all have children (they keep their files), and its jobs."""
    from pachlite.pps.commitset import squash_commit_set
    squash_commit_set(open_pfs(), commit_set)


@delete.command("commit")
@click.argument("commit_set", metavar="COMMIT_SET")
def delete_commit(commit_set: str) -> None:
    """Drop a commit set whose commits are all branch heads: each branch goes back to the
    commit's parent, and the set's jobs go."""
    from pachlite.pps.commitset import drop_commit_set
    drop_commit_set(open_pfs(), commit_set)
