"""Layered datum records: a job planned from what changed writes rows only for the datums it ran
or removed, over its base job's records; every job, old or new, still lists each of its datums
once (the carried ones skipped, in their places), through compactions, removed datums, squashed
commit sets and a full plan carrying from a layered job."""

from __future__ import annotations

import random

from helpers import contents, datum_paths, datums, put
from pachlite.pfs import PFS
from pachlite.pps import pipeline as pl
from pachlite.pps.commitset import squash_commit_set
from pachlite.store import datums as store_datums, fsck

COPY = ["sh", "-c", "cp -r /pfs/data/* /pfs/out/"]


def spec(name: str = "copy") -> dict:
    return {"pipeline": {"name": name}, "input": {"pfs": {"repo": "data", "glob": "/*"}},
            "transform": {"cmd": COPY}}


def listing(pfs: PFS, job) -> list[tuple[str, str]]:
    return [(datum_paths(d)[0], d["state"]) for d in datums(pfs, job)]


def own_rows(pfs: PFS, job) -> int:
    return pfs.store.one("SELECT COUNT(*) FROM datums WHERE job_id=?", (job.key,))[0]


def test_each_job_lists_every_datum_once_through_changes_removals_and_compactions(pfs):
    pfs.create_repo("data")
    put(pfs, "data", {f"/f{i:02d}": str(i) for i in range(30)})
    pl.create_pipeline(pfs, spec())
    [first] = [r.job for r in pl.run(pfs)]
    rng = random.Random(7)
    files = {f"/f{i:02d}": str(i) for i in range(30)}
    seen = [(first, listing(pfs, first))]
    for i in range(14):
        removed = rng.sample(sorted(files), 2) if i % 3 == 2 else []
        if removed:
            pfs.write_commit("data", "master", {p: None for p in removed})
            for p in removed:
                del files[p]
            [job] = [r.job for r in pl.run(pfs)]
            assert own_rows(pfs, job) == 2  # a removal row each
            assert sorted(p for p, _ in listing(pfs, job)) == sorted(files)
            seen.append((job, listing(pfs, job)))
        changed = {f"/n{i:02d}": f"new {i}", rng.choice(sorted(files)): f"changed {i}"}
        put(pfs, "data", changed)
        files.update(changed)
        [job] = [r.job for r in pl.run(pfs)]
        assert (job.processed, job.skipped) == (2, len(files) - 2)
        # Its own rows: the datums it ran, not a copy of the skipped ones.
        assert own_rows(pfs, job) == 2
        rows = listing(pfs, job)
        assert sorted(p for p, _ in rows) == sorted(files)  # each datum once, the removed gone
        assert sorted(s for _, s in rows) == ["skipped"] * (len(files) - 2) + ["success"] * 2
        assert contents(pfs, "copy@master", text=True) == files
        assert len(store_datums.stack(pfs.store, job.key)) <= 6
        seen.append((job, rows))
    for job, rows in seen:  # an older job lists what it listed when it finished
        assert listing(pfs, job) == rows
    assert fsck(pfs.store) == []


def test_a_squashed_job_leaves_the_later_jobs_records_whole(pfs):
    pfs.create_repo("data")
    put(pfs, "data", {"/a": "1", "/b": "2"})
    pl.create_pipeline(pfs, spec())
    pl.run(pfs)
    middle = put(pfs, "data", {"/c": "3"})
    pl.run(pfs)
    put(pfs, "data", {"/d": "4"})
    [last] = [r.job for r in pl.run(pfs)]
    before = listing(pfs, last)
    squash_commit_set(pfs, middle.id)
    assert listing(pfs, last) == before
    assert fsck(pfs.store) == []
    put(pfs, "data", {"/e": "5"})  # and the next job layers on what is left
    [job] = [r.job for r in pl.run(pfs)]
    assert (job.processed, job.skipped) == (1, 4)
    assert fsck(pfs.store) == []


def test_a_new_pipeline_version_carries_from_a_layered_job(pfs):
    pfs.create_repo("data")
    put(pfs, "data", {"/a": "1", "/b": "2"})
    pl.create_pipeline(pfs, spec())
    pl.run(pfs)
    put(pfs, "data", {"/c": "3"})
    pl.run(pfs)
    # A new pipeline version with the same salt (its description changed) plans in full, and
    # carries the skipped datums' rows from the layered base job.
    pl.create_pipeline(pfs, {**spec(), "description": "again"}, update=True)
    [job] = [r.job for r in pl.run(pfs)]
    assert (job.processed, job.skipped) == (0, 3)
    assert listing(pfs, job) == [("/a", "skipped"), ("/b", "skipped"), ("/c", "skipped")]
    assert own_rows(pfs, job) == 3  # a full plan's carried rows
    assert fsck(pfs.store) == []


def test_fsck_names_a_layered_job_whose_base_records_are_gone(pfs):
    pfs.create_repo("data")
    put(pfs, "data", {"/a": "1", "/b": "2"})
    pl.create_pipeline(pfs, spec())
    [first] = [r.job for r in pl.run(pfs)]
    put(pfs, "data", {"/c": "3"})
    [second] = [r.job for r in pl.run(pfs)]
    assert store_datums.stack(pfs.store, second.key) == [first.key, second.key]
    with pfs.store.transaction() as tx:
        tx.execute("DELETE FROM datum_layers WHERE id=?", (first.key,))
    assert f"job datum layer {second.key} at depth 0 is missing" in fsck(pfs.store)
