"""A job's datum records, written while its datums run: how big each write is, and what is left
for the job's last transaction once the workers are done."""

from __future__ import annotations

import json

import pytest

from pachlite.pfs.info import FileInfo
from pachlite.pps import records
from pachlite.pps.datum import Datum, DatumInput, datum_id
from pachlite.pps.executors.base import Outcome
from pachlite.pps.plan import Step
from pachlite.pps.states import Action, DatumState
from pachlite.store import datums as store_datums, hash_bytes


def _input(name: str, path: str, data: bytes) -> DatumInput:
    """A datum's input of one file at `path` holding `data`."""
    f = FileInfo(path, "file", len(data), hash_bytes(data))
    return DatumInput(name, "data", "master", "c" * 32, path, False, (f,))


def steps(n: int) -> list[Step]:
    out = []
    for i in range(n):
        inputs = (_input("data", f"/f{i:04d}", f"{i}".encode()),)
        out.append(Step(Action.RUN, datum_id(inputs), "new datum", Datum(datum_id(inputs), inputs),
                        inputs[0].files[0].hash))
    return out


def run(store, n: int) -> tuple[list[int], int]:
    """n datums finishing one after another, each write made as soon as it is due → (the size
    of each write while they ran, how many records wait once the last one finished)."""
    job = "j" * 32
    todo = steps(n)
    rec = records.DatumRecords(store, job, {s.datum_id: i for i, s in enumerate(todo)},
                               stage_outputs=True)
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
    writes, left = run(store, 300)
    # The job's last transaction (the workers done, both cores idle) writes at most FLUSH_ROWS
    # records, where it would otherwise write up to FLUSH_MAX.
    assert left < records.FLUSH_ROWS
    assert max(writes) <= records.FLUSH_MAX
    # Writes still grow while many datums are left: not one a datum near the end either.
    assert records.FLUSH_MAX in writes
    assert len(writes) <= 300 // records.FLUSH_ROWS // 2


@pytest.mark.parametrize("inputs, outputs", [
    ([("data", "/a.json")], [("/a.json", b"1")]),                     # one of each: most datums
    ([("data", "/é \"q\".json"), ("model", "/m.pkl")],                  # a cross; text to escape
     [("/x/1.json", b"22"), ("/ü\n.txt", b"")]),
    ([("data", "/a.json")], []),                                        # no output
])
def test_a_record_holds_its_inputs_and_outputs_as_json_dumps_writes_them(store, inputs, outputs):
    ins = tuple(_input(name, path, path.encode()) for name, path in inputs)
    step = Step(Action.RUN, datum_id(ins), "new datum", Datum(datum_id(ins), ins), "h" * 64)
    outs = [(path, hash_bytes(data), len(data), data) for path, data in outputs]
    rec = records.DatumRecords(store, "j" * 32, {step.datum_id: 0})
    row = dict(zip(store_datums.COLUMNS, rec.row(step, DatumState.SUCCESS, Outcome(step.datum_id, True, "", outs))))
    assert row["inputs"] == json.dumps([[i.name, i.repo, i.branch, i.path] for i in ins])
    assert row["outputs"] == json.dumps([[p, h, n] for p, h, n, _ in outs])
    assert (row["bytes_in"], row["bytes_out"]) == (sum(i.size for i in ins), sum(n for _, _, n, _ in outs))
