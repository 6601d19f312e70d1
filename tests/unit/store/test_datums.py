"""Layered datum records: a job planned from what changed writes rows only for the datums it ran
or removed, over its base job's records; every job, old or new, still lists each of its datums
once (the carried ones skipped, in their places), through compactions, removed datums, squashed
commit sets and a full plan carrying from a layered job; a first job's records written as runs of
their own are its own."""

from __future__ import annotations

import random

import pytest

from helpers import contents, datum_paths, datums, put
from pachlite.pfs import PFS
from pachlite.pps import api as pps_api, pipeline as pl, records
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


@pytest.fixture(autouse=True)
def listed_two_places_at_a_time(monkeypatch):
    """Every listing here reads its records in chunks of two places: chunks end mid-layer."""
    monkeypatch.setattr(store_datums, "LIST_CHUNK", 2)


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
    for job, rows in seen:  # an older job lists what it listed when it finished, in its order
        assert listing(pfs, job) == rows
        places = [r.seq for r in store_datums.records(pfs.store, job.key)]
        assert places == sorted(places) and len(places) == len(rows)
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


@pytest.fixture
def records_in_runs(monkeypatch):
    """A first job's writes of at least 3 records are runs, two at most: its layer holds the rest."""
    monkeypatch.setattr(records, "FLUSH_ROWS", 3)
    monkeypatch.setattr(records, "FLUSH_MAX", 3)
    monkeypatch.setattr(records, "RUN_ROWS", 3)
    monkeypatch.setattr(records, "RUNS_MAX", 2)


def test_a_first_jobs_records_written_as_runs_are_its_own_for_every_later_job(pfs, records_in_runs):
    pfs.create_repo("data")
    files = {f"/f{i:02d}": str(i) for i in range(12)}
    put(pfs, "data", files)
    loud = {**spec(), "transform": {"cmd": ["sh", "-c", 'echo "saw $data"; ' + COPY[2]]}}
    pl.create_pipeline(pfs, loud)
    [first] = [r.job for r in pl.run(pfs, workers=1)]
    layers = store_datums.stack(pfs.store, first.key)
    runs = [store_datums.run_layer(first.key, n) for n in range(2)]
    assert layers == [*runs, first.key]
    in_runs = pfs.store.query(f"SELECT COUNT(*) FROM datums WHERE job_id IN ('{runs[0]}', "
                              f"'{runs[1]}') AND source_job=?", (first.key,))[0][0]
    assert in_runs >= 6 and own_rows(pfs, first) == 12 - in_runs
    assert listing(pfs, first) == [(p, "success") for p in sorted(files)]
    assert {d["source_job"] for d in datums(pfs, first)} == {first.id}
    assert sorted(log for _, log in pps_api.logs(pfs, first)) == \
        [f"saw /pfs/data{p}\n" for p in sorted(files)]
    assert fsck(pfs.store) == []
    # The next job runs the new datum only, over the runs: they and the job's own layer are one
    # layer to its compaction (one by one, equal runs would be copied again at each merge).
    put(pfs, "data", {"/new": "n"})
    [second] = [r.job for r in pl.run(pfs, workers=1)]
    assert (second.processed, second.skipped) == (1, 12)
    assert store_datums.stack(pfs.store, second.key) == [*runs, first.key, second.key]
    assert listing(pfs, second) == [(p, "skipped") for p in sorted(files)] + [("/new", "success")]
    # A full plan carries every row, those of the runs among them.
    pl.create_pipeline(pfs, {**loud, "description": "again"}, update=True)
    [third] = [r.job for r in pl.run(pfs, workers=1)]
    assert (third.processed, third.skipped) == (0, 13)
    assert contents(pfs, "copy@master", text=True) == {**files, "/new": "n"}
    assert fsck(pfs.store) == []
    pl.delete_pipeline(pfs, "copy")
    assert pfs.store.query("SELECT COUNT(*) FROM datums")[0][0] == 0
    assert pfs.store.query("SELECT COUNT(*) FROM datum_layers")[0][0] == 0
    assert fsck(pfs.store) == []


def test_a_killed_first_jobs_runs_are_carried_by_the_next_run(pfs, records_in_runs, monkeypatch):
    from pachlite.pps.job import Job
    pfs.create_repo("data")
    files = {f"/f{i:02d}": str(i) for i in range(12)}
    put(pfs, "data", files)
    pl.create_pipeline(pfs, spec())

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    with monkeypatch.context() as m:  # stopped once every datum ran, its runs written
        m.setattr(Job, "_finish_first", interrupted)
        with pytest.raises(KeyboardInterrupt):
            pl.run(pfs, workers=1)
    [killed] = pps_api.list_job(pfs, "copy")
    assert killed.state == "killed"
    assert store_datums.stack(pfs.store, killed.key)[:2] == \
        [store_datums.run_layer(killed.key, n) for n in range(2)]
    assert fsck(pfs.store) == []
    [job] = [r.job for r in pl.run(pfs, workers=1)]
    assert (job.processed, job.skipped, job.total) == (0, 12, 12)
    assert contents(pfs, "copy@master", text=True) == files
    assert fsck(pfs.store) == []


@pytest.mark.parametrize("in_runs", [True, False], ids=["a run", "the job's layer"])
def test_a_job_stopped_just_after_a_records_write_committed_keeps_each_record_once(
        pfs, monkeypatch, in_runs):
    """The job's last write of records (on its main thread) commits, and the stop lands before
    that write has returned, so its rows are queued again: the stopped job's last transaction
    writes each record once (not twice into its layer, nor failing on the second copy)."""
    import contextlib
    import threading

    from pachlite.errors import Conflict
    from pachlite.store import Store
    if in_runs:
        for name, value in (("FLUSH_ROWS", 3), ("FLUSH_MAX", 3), ("RUN_ROWS", 3), ("RUNS_MAX", 2)):
            monkeypatch.setattr(records, name, value)
    pfs.create_repo("data")
    files = {f"/f{i:02d}": str(i) for i in range(12)}
    put(pfs, "data", files)
    pl.create_pipeline(pfs, spec())
    flush, transaction = records.DatumRecords.flush, Store.transaction
    main = threading.main_thread()
    stop = {"armed": False, "done": False}

    def flush_on_main_thread_only(self):  # the background writes fail (a busy store)
        if threading.current_thread() is not main:
            raise Conflict("busy", "wait")
        stop["armed"] = not stop["done"]
        flush(self)

    @contextlib.contextmanager
    def stopped_after_commit(self):
        with transaction(self) as tx:
            yield tx
        if stop["armed"]:  # committed: the stop lands before flush() returns
            stop.update(armed=False, done=True)
            raise KeyboardInterrupt
    with monkeypatch.context() as m:
        m.setattr(records.DatumRecords, "flush", flush_on_main_thread_only)
        m.setattr(Store, "transaction", stopped_after_commit)
        with pytest.raises(KeyboardInterrupt):
            pl.run(pfs, workers=1)
    assert stop["done"]
    [killed] = pps_api.list_job(pfs, "copy")
    assert killed.state == "killed"
    layers = store_datums.own(killed.key, store_datums.stack(pfs.store, killed.key))
    assert (len(layers) > 1) == in_runs
    marks = ",".join("?" * len(layers))
    assert pfs.store.query(f"SELECT COUNT(*), COUNT(DISTINCT id) FROM datums WHERE job_id IN ({marks})",
                           tuple(layers))[0][:] == (12, 12)
    assert fsck(pfs.store) == []
    [job] = [r.job for r in pl.run(pfs, workers=1)]
    assert (job.processed, job.skipped, job.total) == (0, 12, 12)
    assert contents(pfs, "copy@master", text=True) == files


def test_a_jobs_records_by_state_or_id_prefix_are_those_its_listing_shows(pfs):
    """What `restart datum` (failed ones) and `inspect datum` (an id prefix) ask for: the records
    as the job shows them, in its order (a datum of a lower layer as a skip of this job)."""
    pfs.create_repo("data")
    put(pfs, "data", {f"/f{i}": str(i) for i in range(5)})
    picky = {**spec(), "transform": {"cmd": ["sh", "-c", 'grep -q bad "$data" && exit 1; ' + COPY[2]]}}
    pl.create_pipeline(pfs, picky)
    [first] = [r.job for r in pl.run(pfs)]
    put(pfs, "data", {"/g": "bad", "/h": "good"})
    [second] = [r.job for r in pl.run(pfs)]
    assert len(store_datums.stack(pfs.store, second.key)) == 2  # over the first job's layer

    def shown(job, **k):
        return [(r.inputs[0][3], r.state) for r in store_datums.records(pfs.store, job.key, **k)]
    assert shown(first) == [(f"/f{i}", "success") for i in range(5)]
    assert shown(first, state="skipped") == shown(first, state="failed") == []
    listed = shown(second)
    assert listed == [(f"/f{i}", "skipped") for i in range(5)] + [("/g", "failed"), ("/h", "success")]
    for state in ("skipped", "success", "failed"):  # the first job's rows show as skips here
        assert shown(second, state=state) == [x for x in listed if x[1] == state]
    ids = [r.id for r in store_datums.records(pfs.store, second.key)]
    assert [r.id for r in store_datums.records(pfs.store, second.key, id_prefix=ids[2][:12])] == [ids[2]]
    assert [d["id"] for d in datums(pfs, second)] == ids  # the listing is the records, in order


def test_a_jobs_records_are_listed_by_place_whichever_of_its_layers_holds_them(pfs):
    """Two workers' datums finish out of order: a first job's earlier run may hold later places."""
    import json
    job = "j" * 32

    def row(place: int) -> tuple:
        inputs = json.dumps([["data", "data", "master", f"/f{place}"]])
        return (job, f"{place:064x}", "h", "success", "", inputs, "[]", 0.0, 0.1, None, 1, 0, job, place)
    with pfs.store.transaction() as tx:
        store_datums.insert_run(tx, job, 0, [row(p) for p in (5, 3, 4)])
        store_datums.insert_run(tx, job, 1, [row(p) for p in (0, 2, 1)])
        store_datums.insert(tx, [row(6)])
    assert [r.seq for r in store_datums.records(pfs.store, job)] == list(range(7))
    assert [r.inputs[0][3] for r in store_datums.records(pfs.store, job, id_prefix=f"{4:064x}")] == ["/f4"]
    # A layer merged into another while the listing is read (a job finishing): read again there.
    listed = store_datums.records(pfs.store, job)
    assert next(listed).seq == 0
    moved = store_datums.run_layer(job, 1)
    with pfs.store.transaction() as tx:
        tx.db.execute("UPDATE datums SET job_id=? WHERE job_id=?", (job, moved))
        tx.db.execute("DELETE FROM job_layers WHERE layer=?", (moved,))
    assert [r.seq for r in listed] == list(range(1, 7))
