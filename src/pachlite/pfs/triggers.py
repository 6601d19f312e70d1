"""Branch triggers and branch provenance, as pachd keeps them (its trigger.go): what a branch
follows, checked when it is set, and triggers fired when a commit of their repo finishes."""

from __future__ import annotations

import re

from pachlite.errors import InvalidInput, NotFound
from pachlite.pfs import address as addr
from pachlite.store import Handle, Tx, branch_links, branches, commits, repos
from pachlite.store.branch_links import TriggerRow

# go-units FromHumanSize: a number, an optional unit prefix, decimal multiples (1KB = 1000 B).
_SIZE = re.compile(r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")
_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15}


def size_bytes(text: str) -> int:
    m = _SIZE.match(text)
    if not m:
        raise InvalidInput(f"invalid trigger size {text!r}", "give a size like 1MB, 500K or 1024")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "").lower()])


def check_trigger(s: Handle, t: TriggerRow) -> None:
    """pachd's validateTrigger: a valid branch name and conditions, and no loop of triggers."""
    addr.validate_name(t.on, "branch")
    if t.size:
        size_bytes(t.size)
    if t.commits < 0:
        raise InvalidInput("can't trigger on a negative number of commits",
                           "give --trigger-commits 1 or more")
    follows = {r.branch: r.on for r in branch_links.triggers(s, t.repo)}
    b = t.on
    while b is not None:
        if b == t.branch:
            raise InvalidInput(f"triggers cannot form a loop ({t.repo}@{t.branch} follows itself)",
                               "trigger on another branch")
        b = follows.get(b)


def check_provenance(s: Handle, repo: str, branch: str, prov: list[tuple[str, str]]) -> None:
    """Each provenance branch exists, and none has repo@branch in its own provenance."""
    for r, b in prov:
        if repos.get(s, r) is None or branches.get(s, r, b) is None:
            raise NotFound(f"provenance branch {r}@{b} not found",
                           f"create it first with 'pachlite create branch {r}@{b}'")
        seen, todo = set(), [(r, b)]
        while todo:
            node = todo.pop()
            if node == (repo, branch):
                raise InvalidInput(f"{r}@{b} cannot be provenance of {repo}@{branch}: that would "
                                   "make a cycle", "choose a branch upstream of it")
            if node not in seen:
                seen.add(node)
                todo += branch_links.provenance(s, *node)


def fire(tx: Tx, repo: str, branch: str, commit_id: str) -> None:
    """A commit of repo@branch finished: move each branch whose trigger (or chain of triggers)
    follows that branch and whose conditions now hold (pachd's triggerCommit)."""
    trig = {t.branch: t for t in branch_links.triggers(tx, repo)}
    if not trig:
        return
    new_heads: dict[str, str | None] = {branch: commit_id}

    def visit(b: str) -> str | None:
        if b in new_heads:
            return new_heads[b]
        new_heads[b] = None
        t = trig.get(b)
        if t is None:
            return None
        new = visit(t.on)  # earlier triggers of the chain first
        old = branches.head(tx, repo, b)
        if new is None or new == old or not _triggered(tx, t, old, new):
            return None
        branches.set_head(tx, repo, b, new)
        new_heads[b] = new
        return new

    for b in trig:
        visit(b)


def _triggered(tx: Tx, t: TriggerRow, old: str | None, new: str) -> bool:
    """pachd's isTriggered: the conditions that are set, joined by `all` (and) or any (or)."""
    result = t.all

    def merge(cond: bool) -> None:
        nonlocal result
        result = (result and cond) if t.all else (result or cond)
    head = commits.get(tx, new)
    if t.size:
        old_size = commits.get(tx, old).size if old else 0
        merge(head.size - old_size >= size_bytes(t.size))
    if t.commits:
        # The commits since the branch's head, counted up to the number asked for. (pachd also
        # counts the root commit of a repo's history, which it makes empty and AUTO; pachlite
        # has no such commit.)
        n, cid = 0, new
        while n < t.commits and cid is not None and cid != old:
            n += 1
            cid = commits.get(tx, cid).parent
        merge(n == t.commits)
    return result
