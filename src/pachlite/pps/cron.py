"""Cron ticks, as pachd's pipeline master makes them (cronTick, makeCronCommits): a tick is one
commit on its repo's master adding an empty file named by the tick's time (RFC 3339), after
deleting every earlier tick file when the input sets `overwrite`.

pachd ticks on its own clock; locally time passes only when pachlite runs. `pachlite run cron
PIPELINE` ticks every cron input of the pipeline now (pachd's RunCron), and `pachlite run`
first commits the ticks that fell due since each input's last tick (or its `start`, by default
when the pipeline was created), one commit per tick as pachd catches up — but at most the
CATCH_UP latest, so a week-old store with `@every 10s` does not make 60480 jobs.
"""

from __future__ import annotations

import datetime as dt
import io

from pachlite.errors import InvalidInput
from pachlite.pfs import PFS
from pachlite.pps.spec import cron as schedules
from pachlite.pps.spec.tree import cron_key, cron_nodes
from pachlite.store import branches

CATCH_UP = 16
BRANCH = "master"


def create_repos(pfs: PFS, tx, spec: dict) -> None:
    """pachd's CreatePipeline: each cron input's tick repo, unless it exists."""
    for _, cron in cron_nodes(spec.get("input")):
        pfs.insert_repo(tx, cron_key(spec, cron), f"Cron tick repo for pipeline "
                        f"{spec['pipeline']['name']}.", exist_ok=True)


def delete_repos(pfs: PFS, spec: dict, still_read: set[str]) -> None:
    """A deleted pipeline's tick repos, as pachd deletes them (even with --keep-repo), but for
    those another pipeline reads."""
    for key in dict.fromkeys(cron_key(spec, cron) for _, cron in cron_nodes(spec.get("input"))):
        if key not in still_read:
            pfs.delete_repo(key)


def run_cron(pfs: PFS, name: str, spec: dict, now: dt.datetime | None = None) -> list[str]:
    """pachd's RunCron: one tick, at the same time, on each cron input's repo. → the tick files."""
    crons = [c for _, c in cron_nodes(spec.get("input"))]
    if not crons:
        raise InvalidInput(f"pipeline {name} doesn't have a cron input",
                           "'run cron' ticks a pipeline with an `input.cron`; run others with "
                           f"'pachlite run {name}'")
    now = now or dt.datetime.now(schedules.UTC)
    return [_tick(pfs, cron_key(spec, c), bool(c.get("overwrite")), now) for c in crons]


def commit_due(pfs: PFS, spec: dict, created: float, now: dt.datetime | None = None) -> list[str]:
    """The ticks each cron input owes since its last one (at most CATCH_UP each), committed
    oldest first. → the tick files."""
    now = now or dt.datetime.now(schedules.UTC)
    made = []
    for _, c in cron_nodes(spec.get("input")):
        key = cron_key(spec, c)
        start = schedules.parse_start(c.get("start")) or dt.datetime.fromtimestamp(created, schedules.UTC)
        last = max([start, *filter(None, (schedules.tick_time(p) for p in _files(pfs, key)))])
        ticks, _ = schedules.schedule(c.get("spec")).due(last, now, CATCH_UP)
        made += [_tick(pfs, key, bool(c.get("overwrite")), t) for t in ticks]
    return made


def _files(pfs: PFS, repo: str) -> list[str]:
    head = branches.head(pfs.store, repo, BRANCH)
    return [p for p, _, _ in pfs.files(head)] if head else []


def _tick(pfs: PFS, repo: str, overwrite: bool, t: dt.datetime) -> str:
    """cronTick: one commit on the repo's master; with overwrite, the earlier ticks deleted."""
    name = schedules.tick_name(t)
    empty = pfs.store.read_content(io.BytesIO(b""))
    changes: dict = {p: None for p in _files(pfs, repo)} if overwrite else {}
    changes[name] = empty[:2]
    pfs.write_commit(repo, BRANCH, changes, [empty])
    return f"{repo}@{BRANCH}:{name}"
