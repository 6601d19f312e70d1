"""The datum plan: which datums of a job run, are skipped or are deleted, and why.

A pure function of the job's datums and the base job's records (Pachyderm's rule: the base is
the pipeline's last successful job), so tests and `--dry-run` see exactly what a run will do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from pachlite.pps.datum import Datum
from pachlite.pps.states import Action, DatumState


# Steps and base records are made 10^5 at a time: slots, and not frozen (a frozen dataclass's
# __init__ costs four times as much); nothing changes them once made.
@dataclass(slots=True)
class BaseDatum:
    """What the base job recorded for one datum."""
    id: str
    hash: str
    state: DatumState
    outputs: tuple[tuple[str, str, int], ...]  # (path, content hash, size)
    job_id: str


@dataclass(slots=True)
class Step:
    action: Action
    datum_id: str
    reason: str
    datum: Datum | None = None       # None for delete
    hash: str = ""
    base: BaseDatum | None = None    # the base job's record, if any
    # A skip of a datum a killed job finished (same id and hash): its record, whose outputs this
    # job writes (they are not in the base job's output commit).
    done: BaseDatum | None = None
    # A datum to run that failed in a job since the base job: that job's id (--dry-run says
    # "retry").
    retry: str = ""


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    # Unchanged datums of the base job skipped without a step each (delta.py): their records
    # and outputs are carried over by the store.
    carried: int = 0

    def count(self, action: str) -> int:
        listed = sum(1 for s in self.steps if s.action == action)
        return listed + self.carried if action == Action.SKIP else listed

    @property
    def runs(self) -> list[Step]:
        return [s for s in self.steps if s.action == Action.RUN]

    @property
    def resumed(self) -> list[Step]:
        """Skipped steps whose outputs come from a killed job's record, not the base commit."""
        return [s for s in self.steps if s.done is not None]

    @property
    def total(self) -> int:
        return len(self.steps) - self.count(Action.DELETE) + self.carried


def plan(datums: Iterable[Datum], salt: str, base: Mapping[str, BaseDatum], *,
         no_skip: bool = False) -> Plan:
    """Compare the job's datums with the base job's: new, changed, failed or recovered ones run,
    unchanged ones are skipped (unless no_skip: `reprocessSpec: every_job`), and the base's
    datums that are gone are deleted, which removes their outputs."""
    return Plan(tuple(plan_steps(datums, salt, base, no_skip=no_skip)))


def plan_steps(datums: Iterable[Datum], salt: str, base: Mapping[str, BaseDatum], *,
               no_skip: bool = False) -> Iterator[Step]:
    """plan()'s steps, one datum at a time (the deletions last)."""
    seen: set[str] = set()  # (only against a base: a first job's 10^6 ids are not held)
    for d in datums:
        h = d.hash(salt)
        if base:
            seen.add(d.id)
        b = base.get(d.id)
        if b is None:
            yield Step(Action.RUN, d.id, "new datum", d, h)
        elif b.state in (DatumState.FAILED, DatumState.RECOVERED):
            yield Step(Action.RUN, d.id, f"{b.state} in job {b.job_id}", d, h, b)
        elif b.hash != h:
            yield Step(Action.RUN, d.id, "input or pipeline changed", d, h, b)
        elif no_skip:
            yield Step(Action.RUN, d.id, "reprocessSpec is every_job", d, h, b)
        else:
            yield Step(Action.SKIP, d.id, f"unchanged since job {b.job_id}", d, h, b)
    for did, b in base.items():
        if did not in seen:
            yield Step(Action.DELETE, did, "datum no longer in the input; outputs removed", None, b.hash,
                       b)


def retried(p: Plan, failed: Mapping[str, str]) -> Plan:
    """The plan with each datum to run that failed in a later job than the base (id → that
    job's id) marked as a retry."""
    if not failed:
        return p
    return Plan(tuple(Step(s.action, s.datum_id, s.reason, s.datum, s.hash, s.base, s.done,
                           failed[s.datum_id])
                      if s.action == Action.RUN and s.datum_id in failed else s
                      for s in p.steps), p.carried)


def resume(p: Plan, finished: Mapping[str, BaseDatum]) -> Plan:
    """The plan with each datum to run that a killed job finished (same id and hash: same
    inputs, same salt) skipped instead, as Pachyderm keeps a job's completed datum sets."""
    if not finished:
        return p
    steps = []
    for s in p.steps:
        k = finished.get(s.datum_id) if s.action == Action.RUN else None
        if k is not None and k.hash == s.hash:
            s = Step(Action.SKIP, s.datum_id, f"finished in killed job {k.job_id}", s.datum,
                     s.hash, s.base, k)
        steps.append(s)
    return Plan(tuple(steps), p.carried)
