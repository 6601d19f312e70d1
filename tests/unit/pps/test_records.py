"""A job's datum records, written while its datums run: how big each write is, and what is left
for the job's last transaction once the workers are done."""

from __future__ import annotations

import pytest

from pachlite.pfs.info import FileInfo
from pachlite.pps import records
from pachlite.pps.datum import Datum, DatumInput, datum_id
from pachlite.pps.executors.base import Outcome
from pachlite.pps.plan import Step
from pachlite.pps.states import Action, DatumState
from pachlite.store import datums as store_datums, hash_bytes


def steps(n: int) -> list[Step]:
    out = []
    for i in range(n):
        data = f"{i}".encode()
        f = FileInfo(f"/f{i:04d}", "file", len(data), hash_bytes(data))
        inputs = (DatumInput("data", "data", "master", "c" * 32, f.path, False, (f,)),)
        out.append(Step(Action.RUN, datum_id(inputs), "new datum", Datum(datum_id(inputs), inputs),
                        f.hash))
    return out


def run(store, n: int, expect: bool) -> tuple[list[int], int]:
    """n datums finishing one after another, each write made as soon as it is due → (the size
    of each write while they ran, how many records wait once the last one finished)."""
    job = "j" * 32
    todo = steps(n)
    rec = records.DatumRecords(store, job, {s.datum_id: i for i, s in enumerate(todo)},
                               stage_outputs=True)
    if expect:
        rec.expect(n)
    writes = []
    for s in todo:
        data = s.datum.inputs[0].path.encode()
        rec.finished(s, DatumState.SUCCESS,
                     Outcome(s.datum_id, True, "", [(s.datum.inputs[0].path, hash_bytes(data),
                                                     len(data), data)]))
        if rec._wake.is_set():
            rec._wake.clear()
            writes.append(len(rec._pending))
            rec.flush()
    left = len(rec._pending)
    rec.flush()
    assert store.one("SELECT COUNT(*) FROM datums WHERE job_id LIKE ?", (job + "%",))[0] == n
    assert len(store_datums.own(job, store_datums.stack(store, job))) <= records.RUNS_MAX + 1
    return writes, left


@pytest.fixture
def small_writes(monkeypatch):
    """Writes of 4 to 32 records; those of 8 or more are runs."""
    monkeypatch.setattr(records, "FLUSH_ROWS", 4)
    monkeypatch.setattr(records, "FLUSH_MAX", 32)
    monkeypatch.setattr(records, "RUN_ROWS", 8)


def test_the_records_left_when_the_last_datum_finishes_are_a_small_write(store, small_writes):
    writes, left = run(store, 300, expect=True)
    # The job's last transaction (the workers done, both cores idle) writes at most FLUSH_ROWS
    # records, where it would otherwise write up to FLUSH_MAX.
    assert left < records.FLUSH_ROWS
    assert max(writes) <= records.FLUSH_MAX
    # Writes still grow while many datums are left: not one a datum near the end either.
    assert records.FLUSH_MAX in writes
    assert len(writes) <= 300 // records.FLUSH_ROWS // 2

