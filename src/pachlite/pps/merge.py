"""Merging a job's output: the base job's output commit, less what re-run or deleted datums had
written, plus what the datums that ran wrote — and Pachyderm's checks of the result.

Pure: a job's datum results in, the output commit's changes (or why the job fails) out. Checks
against outputs carried over without a step each (a delta plan) need the base output commit,
which the caller answers through `carried_clash`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pachlite.pps.executors.base import Result
from pachlite.pps.plan import Plan
from pachlite.pps.states import Action
from pachlite.store import datums, files

if TYPE_CHECKING:
    from pachlite.pps.info import JobInfo

# (new output paths with the datum that wrote each, paths the job removes) -> why they clash, or ""
CarriedClash = Callable[[list[tuple[str, str]], set[str]], str]


@dataclass
class Merged:
    # path → (hash, size); None deletes
    changes: dict[str, tuple[str, int] | None] = field(default_factory=dict)
    objects: list[tuple[str, int, bytes | None]] = field(default_factory=list)
    reason: str = ""  # why the merged output is invalid ("" when it is valid)


def merge(plan: Plan, results: Mapping[str, Result], carried_clash: CarriedClash | None,
          stored: Set[str] = frozenset()) -> Merged:
    """The output commit's changes: every output of a datum that ran (or that a killed job
    finished), every output of a re-run or deleted datum removed; invalid when two datums write
    one path or a path is both a file and a folder. `stored`: datums whose output objects are in
    the store already (their records were written as they finished)."""
    m = Merged()
    owner: dict[str, str] = {}
    for s in plan.steps:
        if s.action == Action.SKIP and s.done is None:
            for path, _, _ in s.base.outputs:
                owner[path] = s.datum_id
    removed: set[str] = set()
    for s in plan.steps:
        if (s.action != Action.SKIP or s.done is not None) and s.base is not None:
            for path, _, _ in s.base.outputs:
                m.changes[path] = None
                removed.add(path)
    new_paths = []
    # What ran (its objects to store), and what a killed job finished (stored already).
    written = [(s.datum_id, results[s.datum_id][1].outputs, s.datum_id not in stored) for s in plan.runs]
    written += [(s.datum_id, [(*o, None) for o in s.done.outputs], False) for s in plan.resumed]
    for did, outputs, new in written:
        for path, h, size, data in outputs:
            other = owner.setdefault(path, did)
            if other != did and not m.reason:
                m.reason = (f"duplicate path output by different datums ({path} from "
                            f"{other} and {path} from {did})")
            m.changes[path] = (h, size)
            if new:
                m.objects.append((h, size, data))
            new_paths.append((path, did))
    if plan.carried and carried_clash is not None:
        # The carried datums' outputs are not in `owner`: ask the base output commit.
        m.reason = m.reason or carried_clash(new_paths, removed)
        owner = {path: d for path, d in owner.items() if path in m.changes}
    m.reason = m.reason or path_collision(owner)
    return m


def path_collision(paths) -> str:
    """Pachyderm's check of a merged output: no path may be both a file and a directory."""
    ordered = sorted(paths, key=lambda p: p.replace("/", "\x00"))  # a path's subtree follows it
    for a, b in zip(ordered, ordered[1:]):
        if b.startswith(a + "/"):
            return f"file / directory path collision ({b})"
    return ""


def carried_collision(store, base: JobInfo, new_paths, removed: set[str]) -> str:
    """Pachyderm's checks of a merged output, for new outputs against the outputs of datums
    carried over from the base job (what its output commit holds and this job keeps)."""
    commit = base.output_commit

    def kept(path: str) -> bool:
        return path not in removed and files.exists(store, commit, path)
    for path, did in new_paths:
        if kept(path):
            other = datums.output_owner(store, base.key, path)
            return (f"duplicate path output by different datums ({path} from "
                    f"{other or '?'} and {path} from {did})")
        d = path.rsplit("/", 1)[0]
        while d:
            if kept(d):
                return f"file / directory path collision ({path})"
            d = d.rsplit("/", 1)[0]
        clash = next((p for p in files.paths_below(store, commit, path) if p not in removed),
                     None)
        if clash:
            return f"file / directory path collision ({clash})"
    return ""
