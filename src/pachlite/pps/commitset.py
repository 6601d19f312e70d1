"""Commit sets (pachd's global ids): the commits and jobs one input commit caused, listed, waited
for, squashed or dropped as one, with pachd's refusals (pfs api server's SquashCommitSet and
DropCommitSet), and the jobs a pipeline owes: one per commit set that reached its inputs, oldest
set first.

A commit to an input repo starts a set; `pachlite run` adds the set's jobs and their output
commits, each carrying the set's id. Unlike pachd, which opens the downstream commits of a set at
once, pachlite makes them when their jobs run, so waiting for one waits for the process running
its pipeline (nothing is waited for when no process runs one).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pachlite.errors import Conflict, NotFound
from pachlite.pfs import PFS, CommitInfo
from pachlite.pfs.address import Address
from pachlite.pps import api
from pachlite.pps.info import JobInfo
from pachlite.pps.lock import held
from pachlite.pps.states import JobState
from pachlite.store import branches, commits, files, jobs, pipelines

if TYPE_CHECKING:  # pipeline.py runs the jobs this plans, so it imports this module
    from pachlite.pps.pipeline import PipelineInfo

POLL_S = 0.2


def list_commit_set(pfs: PFS, commit_set: str) -> list[CommitInfo]:
    """The commits of a commit set, in the order they were made (pachctl list commit <id>)."""
    rows = commits.of_set(pfs.store, commit_set)
    if not rows:
        raise NotFound(f"no commits found for commitset {commit_set}",
                       "list a repo's commits with 'pachlite list commit REPO'")
    return [pfs.resolve(Address(r.repo, commit=r.id)) for r in rows]


def _running(pfs: PFS) -> list[str]:
    """Pipelines whose job a process is running now."""
    return [p for p in pipelines.names(pfs.store) if held(pfs, p)]


def _wait(ready: Callable[[], object], busy: Callable[[], bool], missing: Callable[[], Exception]):
    """ready() until it gives something; while it does not, wait only as long as busy()."""
    while True:
        found = ready()
        if found:
            return found
        if not busy():
            found = ready()  # (it may have finished between the two looks)
            if found:
                return found
            raise missing()
        time.sleep(POLL_S)


def wait_commit(pfs: PFS, a: Address) -> CommitInfo:
    """The commit once it is finished: at once when it is, else while a process still runs a
    job (or holds the commit open) that may finish it."""
    pfs.inspect_repo(a.repo)

    def ready():
        try:
            c = pfs.resolve(a)
        except NotFound:
            return None
        return c if c.finished is not None else None

    def busy() -> bool:
        try:
            c = pfs.resolve(a)
        except NotFound:
            return bool(_running(pfs))
        return c.finished is None  # an open commit: whoever opened it finishes it

    def missing() -> Exception:
        try:
            pfs.resolve(a)
        except NotFound as e:
            if a.commit and commits.of_set(pfs.store, a.commit):
                return NotFound(e.problem, "no pachlite process is running the job that would "
                                "make it: run 'pachlite run'")
            return e
        return NotFound(f"commit {a} is not finished", f"finish it with 'pachlite finish commit {a}'")
    return _wait(ready, busy, missing)


def wait_job(pfs: PFS, pipeline: str, job: str | None) -> JobInfo:
    """The job once it has ended: at once when it has, else while a process runs the pipeline."""
    api.inspect_pipeline(pfs, pipeline)

    def ready():
        try:
            j = api.inspect_job(pfs, pipeline, job)
        except NotFound:
            return None
        return j if j.state != JobState.RUNNING else None

    def missing() -> Exception:
        api.inspect_job(pfs, pipeline, job)  # its own "not found" message, when it has none
        return NotFound(f"job {pipeline}@{job or '<latest>'} ended while read",
                        f"see it with 'pachlite inspect job {pipeline}@{job or ''}'")
    return _wait(ready, lambda: held(pfs, pipeline), missing)


def squash_commit_set(pfs: PFS, commit_set: str) -> None:
    """Remove a commit set whose commits all have children (which keep their files): its jobs
    go too. Refused when a later set was computed from it, as pachd refuses."""
    with pfs.store.transaction() as tx:
        rows = _removable(pfs, tx, commit_set)
        later = commits.subvenant_sets(tx, commit_set)
        if later:
            raise Conflict(f"commit set {commit_set!r} cannot be dropped because it has subvenant "
                           f"commit sets: {', '.join(later)}", "squash those first, newest first")
        for r in rows:
            if not commits.children(tx, r.id):
                raise Conflict("cannot squash a commit that has no children as that would cause "
                               f"data loss, use the drop operation instead: {r.repo}@{commit_set}",
                               f"drop the set with 'pachlite delete commit {commit_set}'")
        _remove(pfs, tx, commit_set, rows)


def drop_commit_set(pfs: PFS, commit_set: str) -> None:
    """Remove a commit set whose commits are all branch heads (none has children): each branch
    moves back to the commit's parent, and the set's jobs go."""
    with pfs.store.transaction() as tx:
        rows = _removable(pfs, tx, commit_set)
        for r in rows:
            if commits.children(tx, r.id):
                raise Conflict(f"cannot drop a commit that has children: {r.repo}@{commit_set}",
                               f"squash the set instead: 'pachlite squash commit {commit_set}'")
        _remove(pfs, tx, commit_set, rows)


def _removable(pfs: PFS, tx, commit_set: str) -> list[commits.CommitRow]:
    rows = commits.of_set(tx, commit_set)
    if not rows:
        raise NotFound(f"no commits found for commitset {commit_set}",
                       "list a repo's commits with 'pachlite list commit REPO'")
    for j in jobs.of_set(tx, commit_set):
        if j.state == JobState.RUNNING and held(pfs, j.pipeline):
            raise Conflict(f"job {j.pipeline}@{commit_set} is running",
                           f"wait for it with 'pachlite wait job {j.pipeline}@{commit_set}'")
    return rows


def _remove(pfs: PFS, tx, commit_set: str, rows: list[commits.CommitRow]) -> None:
    for j in jobs.of_set(tx, commit_set):
        jobs.delete(tx, j.id)  # (later jobs' records of datums it processed stay whole)
    for r in reversed(rows):  # downstream first: nothing is left naming a removed commit
        commits.delete(tx, r, logged=files.has_change_log(tx, r.id))


# ---- which jobs a pipeline owes ---------------------------------------------------------------

# Beyond this many commits of one input since a pipeline's last job, one job reads its head.
MAX_PENDING = 1000


def input_heads(pfs: PFS, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(repo, branch) → the commit key at each input branch's head."""
    return {k: branches.head(pfs.store, *k) for k in dict.fromkeys(keys)}


def pending_jobs(pfs: PFS, p: PipelineInfo,
             keys: list[tuple[str, str]]) -> list[tuple[str | None, dict[tuple[str, str], str]]]:
    """(commit set, (repo, branch) → commit key) of each job the pipeline owes, oldest set first:
    one per commit set with a commit on an input branch since the last job that ended (a killed
    one runs again). A first job, or the first after a spec change, reads the heads (set None)."""
    store = pfs.store
    heads = input_heads(pfs, keys)
    done = jobs.latest_ended(store, p.name)
    if done is None or done.pipeline_version != p.version:
        return [(None, heads)]
    seen = {(r, b): c for r, b, c in done.inputs}
    events = []  # (the set's place, set, input, commit key)
    for k, head in heads.items():
        rows, moved = since(pfs, head, seen.get(k))
        for n, row in enumerate(rows):  # a branch moved to another commit starts a new set, as in pachd
            if not _was_head(rows, n, k[1]):
                continue  # made on another branch and passed over by a move (a trigger)
            events.append((commits.set_order(store, row.commit_set),
                           "" if moved else row.commit_set, k, row.id))
    events.sort()
    out, current = [], {k: seen.get(k, h) for k, h in heads.items()}
    for n, (_, commit_set, k, cid) in enumerate(events):
        current[k] = cid
        if n + 1 == len(events) or events[n + 1][1] != commit_set:
            out.append((commit_set or None, dict(current)))
    return out


def _was_head(rows: list[commits.CommitRow], n: int, branch: str) -> bool:
    """Whether rows[n] (of a branch's commits, oldest first) was that branch's head: a commit made
    on it, its head now, or the parent of a commit made on it. The commits of another branch that
    a move (a trigger firing) passed over never were, and pachd runs no job for them."""
    row = rows[n]
    return row.branch in (None, branch) or n + 1 == len(rows) or rows[n + 1].branch == branch


def since(pfs: PFS, head: str, seen: str | None) -> tuple[list[commits.CommitRow], bool]:
    """The commits from `seen` (excluded) to `head`, oldest first, and whether the branch was
    moved (the head does not descend from `seen`). Just the head when it was, or when too many
    commits came since."""
    if seen is None:  # an input the last job did not read
        return [commits.get(pfs.store, head)], False
    chain, c = [], head
    while c is not None and c != seen and len(chain) < MAX_PENDING:
        row = commits.get(pfs.store, c)
        chain.append(row)
        c = row.parent
    if c != seen:
        return chain[:1], c is None
    return chain[::-1], False


def job_set(pfs: PFS, pipeline: str, commit_set: str | None,
             inputs: dict[tuple[str, str], str]) -> str | None:
    """The commit set a job runs in: its inputs' set, or a new one (None) when the pipeline
    already has a job that ended in that set (a branch moved back to it: pachd starts a new set);
    a killed job's set is run again."""
    latest = jobs.latest(pfs.store, pipeline)
    if latest and latest.state == JobState.KILLED and \
            {(r, b): c for r, b, c in latest.inputs} == inputs:
        return latest.commit_set
    if commit_set and any(j.pipeline == pipeline for j in jobs.of_set(pfs.store, commit_set)):
        return None
    return commit_set
