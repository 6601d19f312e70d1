"""A job's datum records: made as each datum finishes (while the workers run the next ones), and
those of succeeded datums written to the store as they come, in small transactions of their own,
so that a killed job keeps what it finished (as Pachyderm keeps a job's completed datum sets).
The rest are written with the job's last transaction."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence

from pachlite.errors import PachliteError
from pachlite.pps.datum import Datum
from pachlite.pps.executors.base import Outcome, Result
from pachlite.pps.plan import Step
from pachlite.pps.states import DatumState
from pachlite.store import Store, Tx, datums, hash_bytes
from pachlite.store.datums import ID, LOG_HASH

# Succeeded datums' records are written every FLUSH_ROWS of them or FLUSH_S seconds, whichever
# comes first.
FLUSH_ROWS = 256
FLUSH_S = 0.25


class DatumRecords:
    def __init__(self, store: Store, job_id: str, seq: Mapping[str, int]):
        self.store, self.job_id = store, job_id
        self.seq = seq                                   # datum id → its place in the job
        self.rows: dict[str, tuple[str, tuple]] = {}     # datum id → (state, its record)
        self.flushed: set[str] = set()                   # ids whose records are in the store
        # Records of succeeded datums not yet in the store, with their logs' and outputs' objects.
        self._pending: list[tuple] = []
        self._pending_objects: list[tuple] = []
        self._lock = threading.Lock()

    def row(self, s: Step, state: str, o: Outcome) -> tuple:
        """A datum's record after it ran: the columns of store.datums.COLUMNS."""
        return (self.job_id, s.datum_id, s.hash, state, o.reason if state != DatumState.SUCCESS else "",
                _inputs_json(s.datum), _outputs_json(o.outputs), o.started, o.duration,
                hash_bytes(o.log) if o.log else None,
                sum(f.size for di in s.datum.inputs for f in di.files),
                sum(x[2] for x in o.outputs), self.job_id, self.seq[s.datum_id])

    def finished(self, s: Step, state: DatumState, o: Outcome) -> None:
        """A datum's final outcome: its record is made now, and queued if it succeeded."""
        row = self.row(s, state, o)
        self.rows[s.datum_id] = (state, row)
        if state != DatumState.SUCCESS:
            return
        with self._lock:
            self._pending.append(row)
            if o.log:
                self._pending_objects.append((row[LOG_HASH], len(o.log), o.log))
            self._pending_objects.extend((h, size, data) for _, h, size, data in o.outputs)
            full = len(self._pending) >= FLUSH_ROWS
        if full:
            self.flush()

    @contextlib.contextmanager
    def flushing(self) -> Iterator[None]:
        """While the datums run: what is queued is written every FLUSH_S seconds too."""
        stop = threading.Event()

        def every() -> None:
            while not stop.wait(FLUSH_S):
                # A store busy for longer than its timeout: the job's last transaction writes it.
                with contextlib.suppress(PachliteError, sqlite3.Error):
                    self.flush()
        thread = threading.Thread(target=every, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def flush(self) -> None:
        with self._lock:
            if not self._pending:
                return
            with self.store.transaction() as tx:
                self.write_pending(tx)

    def write_pending(self, tx: Tx) -> None:
        """Write the queued records (in the caller's transaction)."""
        tx.put_objects(self._pending_objects)
        datums.insert(tx, self._pending)
        self.flushed.update(r[ID] for r in self._pending)
        self._pending, self._pending_objects = [], []

    def of(self, runs: Sequence[Step], results: Mapping[str, Result]) -> list[tuple]:
        """The records of the datums that ran, each as made when it finished (or now, if its
        outcome changed since: an errCmd recovered it)."""
        out = []
        for s in runs:
            state, o, _ = results[s.datum_id]
            made = self.rows.get(s.datum_id)
            out.append(made[1] if made and made[0] == state else self.row(s, state, o))
        return out


# JSON of a datum's inputs and outputs, built from json's own string encoder: the same text as
# json.dumps, at a fraction of its per-call cost (a job writes 10^5 of each).
_STR = json.encoder.encode_basestring_ascii


def _inputs_json(d: Datum) -> str:
    return "[" + ", ".join(f"[{_STR(i.name)}, {_STR(i.repo)}, {_STR(i.branch)}, {_STR(i.path)}]"
                           for i in d.inputs) + "]"


def _outputs_json(outputs) -> str:
    return "[" + ", ".join(f"[{_STR(path)}, {_STR(h)}, {size}]" for path, h, size, *_ in outputs) + "]"
