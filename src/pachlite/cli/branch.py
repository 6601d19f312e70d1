"""Branch verbs: create, list, inspect and delete branch (with provenance and triggers)."""

from __future__ import annotations

import click

from pachlite.cli import pretty, raw as rawjson
from pachlite.cli.groups import create, delete, inspect, list_
from pachlite.cli.output import name_key, open_pfs, parse_address, parse_branch, project_option, raw_option
from pachlite.errors import InvalidInput


@create.command("branch")
@click.argument("branch_addr", metavar="REPO@BRANCH")
@click.option("--head", help="The head of the newly created branch. Either pass the commit with "
              "format: <branch-or-commit>, or fully-qualified as <repo>@<branch>=<id> "
              "(e.g. model@master^ to roll back).")
@click.option("-p", "--provenance", multiple=True, metavar="REPO@BRANCH",
              help="The provenance for the branch. format: <repo>@<branch>; repeatable.")
@click.option("-t", "--trigger", "trigger_branch", metavar="BRANCH",
              help="The branch to trigger this branch on.")
@click.option("--trigger-cron", help="The cron spec to use in triggering (not run by pachlite: "
              "refused).")
@click.option("--trigger-size", default="", help="The data size to use in triggering.")
@click.option("--trigger-commits", type=int, default=0,
              help="The number of commits to use in triggering.")
@click.option("--trigger-all", is_flag=True,
              help="Only trigger when all conditions are met, rather than when any are met.")
@project_option
def create_branch(branch_addr: str, head: str | None, provenance: tuple[str, ...],
                  trigger_branch: str | None, trigger_cron: str | None, trigger_size: str,
                  trigger_commits: int, trigger_all: bool) -> None:
    """Create a new branch, or update an existing branch, on a repo.

    A branch with a trigger follows another branch of its repo: when a commit there finishes
    and the conditions hold (--trigger-size bytes more, or --trigger-commits commits since this
    branch's head; any of them, or all with --trigger-all), this branch moves to that commit.
    """
    from pachlite.store.branch_links import TriggerRow
    a = parse_branch(branch_addr)
    if not a.branch:
        raise InvalidInput(f"{branch_addr!r} names no branch", "write it as repo@branch")
    if trigger_cron:
        raise InvalidInput("pachlite does not run cron triggers",
                           "use --trigger-size or --trigger-commits")
    if provenance and trigger_branch:
        raise InvalidInput("cannot use provenance and triggers on the same branch",
                           "drop --provenance or --trigger")
    if (trigger_size or trigger_commits) and not trigger_branch:
        raise InvalidInput("trigger condition specified without a branch to trigger on",
                           "specify a branch with --trigger")
    prov = []
    for p in provenance:
        b = parse_branch(p)
        prov.append((b.repo, b.branch or "master"))
    h = None
    if head:
        h = parse_address(head if "@" in head else f"{a.repo}@{head}", path_allowed=False)
    trigger = TriggerRow(a.repo, a.branch, trigger_branch, trigger_size, trigger_commits,
                         trigger_all) if trigger_branch else None
    open_pfs().create_branch(a.repo, a.branch, h, prov, trigger)


def _trigger_text(t) -> str:
    """pachctl's printTrigger."""
    conds = ([f"Size({t.size})"] if t.size else []) + ([f"Commits({t.commits})"] if t.commits else [])
    return f"{t.on} on {(' and ' if t.all else ' or ').join(conds)}"


def _trigger_json(t) -> dict | None:
    return {"branch": t.on, "all": t.all, "size": t.size, "commits": str(t.commits)} if t else None


@list_.command("branch")
@click.argument("repo")
@raw_option
@project_option
def list_branch(repo: str, raw: bool) -> None:
    """Return all branches on a repo."""
    pfs = open_pfs()
    bs = pfs.list_branch(name_key(repo))
    links = [pfs.branch_links(b.repo, b.name) for b in bs]
    if raw:
        return rawjson.emit(rawjson.branch_info(b, p, s, _trigger_json(t))
                            for b, (p, s, t) in zip(bs, links))
    click.echo(pretty.table(["BRANCH", "HEAD", "TRIGGER"],
                            [(b.name, b.head or "-", _trigger_text(t) if t else "-")
                             for b, (_, _, t) in zip(bs, links)]))


@inspect.command("branch")
@click.argument("branch_addr", metavar="REPO@BRANCH")
@raw_option
@project_option
def inspect_branch(branch_addr: str, raw: bool) -> None:
    """Return info about a branch: its head, provenance and trigger."""
    a = parse_branch(branch_addr)
    pfs = open_pfs()
    b = pfs.inspect_branch(a.repo, a.branch or "master")
    prov, sub, t = pfs.branch_links(b.repo, b.name)
    if raw:
        return rawjson.emit(rawjson.branch_info(b, prov, sub, _trigger_json(t)))
    # pachctl's PrintDetailedBranchInfo (its trailing spaces included).
    lines = [f"Name: {b.repo}@{b.name}"]
    if b.head:
        lines.append(f"Head Commit: {b.repo}@{b.head} ")
    if prov:
        lines.append("Provenance: " + "".join(f"{r}@{n} " for r, n in prov))
    if t:
        lines.append(f"Trigger: {_trigger_text(t)} ")
    click.echo("\n".join(lines))


@delete.command("branch")
@click.argument("branch_addr", metavar="REPO@BRANCH")
@click.option("-f", "--force", is_flag=True,
              help="remove the branch regardless of errors; use with care")
@project_option
def delete_branch(branch_addr: str, force: bool) -> None:
    """Delete a branch, while leaving the commits intact."""
    a = parse_branch(branch_addr)
    if not a.branch:
        raise InvalidInput(f"{branch_addr!r} names no branch", "write it as repo@branch")
    open_pfs().delete_branch(a.repo, a.branch, force)
