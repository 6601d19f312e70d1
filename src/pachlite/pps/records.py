"""A job's datum records: made as each datum finishes (while the workers run the next ones), and
those of succeeded datums written to the store as they come, in small transactions of their own,
so that a killed job keeps what it finished (as Pachyderm keeps a job's completed datum sets);
once written, nothing of them is held. The rest are written with the job's last transaction.

A first job's output commit is the outputs of its succeeded datums: with `stage_outputs`, those
are written with their records, into a staged layer (store/staged.py) that the job's last
transaction gives to the commit, or drops."""

from __future__ import annotations

import contextlib
import functools
import json
import math
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence

from pachlite.errors import PachliteError
from pachlite.pps.datum import Datum
from pachlite.pps.executors.base import Outcome, Result
from pachlite.pps.plan import Step
from pachlite.pps.states import DatumState
from pachlite.store import Store, Tx, datums, hash_bytes, staged
from pachlite.store.datums import BYTES_IN, BYTES_OUT, ID, LOG_HASH

# Succeeded datums' records are written in transactions of their own: once as many wait as half
# of those already written (at least FLUSH_ROWS, at most FLUSH_MAX), or FLUSH_S seconds after the
# last write. Datum ids are random, so a write rewrites pages all over the datums and objects
# trees, about as many as they hold: writes that grow with the job are few (at 10^5 datums, 9
# instead of 25 of 4096 rows: 1.6 s of the job's CPU instead of 2.5 s, as much as one write at
# the end), and a killed job keeps all but its last FLUSH_S seconds of datums. Near the job's
# end a write comes once as many wait as are still to finish, so that the write left when the
# workers are done is small: the store is not written while both cores sit idle (at 10^5
# datums that last write was ~30,000 records, 1 s of the job's 17).
FLUSH_ROWS = 4096
FLUSH_MAX = 65536  # the queue's memory: ~40 MB of records and outputs
FLUSH_S = 5.0
# A first job's write of at least RUN_ROWS records is a run of its own (store/datums.py): a layer
# filled in key order, not rows spread over the job's layer (at 10^6 datums, the writer's CPU
# 23 -> 16 s and the job's writes 7.4 -> 2.0 GiB: benchmarks/cpu_split.py; at 10^5, whose writes
# were all below the 32,768 records runs once took, 13 -> 11 µs a record). Smaller writes, and
# any past RUNS_MAX runs, go to the job's layer, so that its stack stays within what a later
# job's reads and compactions take in stride (datums.MAX_LAYERS).
RUN_ROWS = 2 * FLUSH_ROWS
RUNS_MAX = 16


class DatumRecords:
    def __init__(self, store: Store, job_id: str, seq: dict[str, int], stage_outputs: bool = False):
        self.store, self.job_id = store, job_id
        self.runs = 0 if stage_outputs else RUNS_MAX  # written so far (a first job's only)
        # datum id → its place in the job; a succeeded datum's is dropped once its record is made
        self.seq = seq
        # datum id → (state, its record), of datums that did not succeed (a succeeded one's is
        # queued, then in the store: a job of 10^6 datums keeps none of them)
        self.rows: dict[str, tuple[str, tuple]] = {}
        self._flushed_bytes = [0, 0]                     # bytes in and out of those stored
        self._stored = 0                                 # how many records are stored
        self._cap = FLUSH_ROWS                           # a write is due at this many
        self._left: float = math.inf                     # datums still to finish (expect())
        # Records of succeeded datums not yet in the store, with their logs' and outputs' objects.
        self._pending: list[tuple] = []
        self._pending_objects: list[tuple] = []
        # Their outputs' (path, hash, size), with stage_outputs: written to the staged `layer`.
        self._pending_files: list[tuple] | None = [] if stage_outputs else None
        self.layer: int | None = None
        self.duplicate = False  # a path two datums output (the layer kept the first)
        self.nested = False     # an output below a folder: a file/folder clash is possible
        self._lock = threading.Lock()     # the queue
        self._writing = threading.Lock()  # one flush at a time
        self._wake = threading.Event()

    def expect(self, n: int) -> None:
        """How many datums the job runs: the writes shrink as the last of them finish."""
        self._left = n

    def row(self, s: Step, state: str, o: Outcome) -> tuple:
        """A datum's record after it ran: the columns of store.datums.COLUMNS."""
        inputs, outputs = s.datum.inputs, o.outputs
        # (One input and one output, most datums: their sizes without a list to sum.)
        return (self.job_id, s.datum_id, s.hash, state, o.reason if state != DatumState.SUCCESS else "",
                _inputs_json(s.datum), _outputs_json(outputs), o.started, o.duration,
                hash_bytes(o.log) if o.log else None,
                inputs[0].size if len(inputs) == 1 else sum([i.size for i in inputs]),
                outputs[0][2] if len(outputs) == 1 else sum([x[2] for x in outputs]),
                self.job_id, self.seq[s.datum_id])

    def finished(self, s: Step, state: DatumState, o: Outcome) -> None:
        """A datum's final outcome: its record is made now, and queued if it succeeded. The
        caller is a worker's thread: the store is written by the flushing thread, not here."""
        row = self.row(s, state, o)
        if state != DatumState.SUCCESS:
            with self._lock:
                self._left -= 1
            self.rows[s.datum_id] = (state, row)
            return
        del self.seq[s.datum_id]
        objs = [(h, size, data) for _, h, size, data in o.outputs]
        if o.log:
            objs.append((row[LOG_HASH], len(o.log), o.log))
        with self._lock:
            self._left -= 1
            self._pending.append(row)
            self._pending_objects += objs
            if self._pending_files is not None:
                self._pending_files += [(p, h, size) for p, h, size, _ in o.outputs]
            n = len(self._pending)
            # Due (see FLUSH_ROWS): as many as _cap, or near the end as many as are left.
            full = n >= self._cap or (n >= FLUSH_ROWS and n >= self._left)
        # Set once a write: at 10^6 datums a write lasts seconds, while thousands finish.
        if full and not self._wake.is_set():
            self._wake.set()

    @contextlib.contextmanager
    def flushing(self) -> Iterator[None]:
        """While the datums run: a thread writes what is queued every FLUSH_S seconds, or as
        soon as enough records wait (see FLUSH_ROWS)."""
        stop = threading.Event()

        def every() -> None:
            while not stop.is_set():
                self._wake.wait(FLUSH_S)
                self._wake.clear()
                # A store busy for longer than its timeout: the job's last transaction writes it.
                with contextlib.suppress(PachliteError, sqlite3.Error):
                    self.flush()
        thread = threading.Thread(target=every, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            self._wake.set()
            thread.join()

    def flush(self) -> None:
        """Write what is queued in a transaction of its own. The queue is taken at once, so the
        workers go on queueing while it is written; should the write fail, it goes back."""
        with self._writing:
            rows, objs, paths = self._take()
            if not rows:
                return
            layer = self.layer
            try:
                run = self.runs < RUNS_MAX and len(rows) >= RUN_ROWS
                with self.store.transaction() as tx:
                    tx.put_objects(objs)
                    if run:
                        datums.insert_run(tx, self.job_id, self.runs, rows)
                    else:
                        datums.insert(tx, rows)
                    if paths is not None:
                        layer = staged.stage(tx) if layer is None else layer
                        paths.sort()
                        new = staged.stage_rows(tx, layer, paths, first_wins=True)
            except BaseException:
                with self._lock:
                    self._pending[:0], self._pending_objects[:0] = rows, objs
                    if paths is not None:
                        self._pending_files[:0] = paths
                raise
            self.runs += run
            if paths is not None:
                self.layer = layer
                self.duplicate = self.duplicate or new < len(paths)
                # Nested: a path with a "/" past its first (one count over all of them at C speed).
                self.nested = self.nested or \
                    "".join([p for p, _, _ in paths]).count("/") > len(paths)
            # Committed: only their bytes are kept (10^6 records held to the job's end would
            # cost ~0.7 GB).
            self._stored += len(rows)
            self._cap = min(max(FLUSH_ROWS, self._stored // 2), FLUSH_MAX)
            self._flushed_bytes[0] += sum([r[BYTES_IN] for r in rows])
            self._flushed_bytes[1] += sum([r[BYTES_OUT] for r in rows])

    def write_pending(self, tx: Tx) -> None:
        """Write what is queued in the caller's transaction (a stopped job's last one): the
        records; the staged outputs are dropped, as the job makes no output commit."""
        rows, objs, _ = self._take()
        # A flush stopped once its transaction had committed queued its rows again (they are in
        # a run, or in the job's layer): they are not written twice.
        stored = datums.stored(tx, self.job_id, [r[ID] for r in rows]) if rows else set()
        tx.put_objects(objs)
        datums.insert(tx, [r for r in rows if r[ID] not in stored] if stored else rows)
        self.drop_outputs(tx)

    def drop_outputs(self, tx: Tx) -> None:
        """The staged outputs go: the job made no output commit of them. Again is harmless (a
        transaction that dropped them may have been rolled back since)."""
        if self.layer is not None:
            staged.drop_staged(tx, self.layer)

    def _take(self) -> tuple[list[tuple], list[tuple], list[tuple] | None]:
        with self._lock:
            taken = self._pending, self._pending_objects, self._pending_files
            self._pending, self._pending_objects = [], []
            if self._pending_files is not None:
                self._pending_files = []
        return taken

    def of(self, runs: Sequence[Step], results: Mapping[str, Result]) -> list[tuple]:
        """The records of the datums that ran and did not succeed (those that did are in the
        store once flush() has returned), each as made when it finished (or now, if its outcome
        changed since: an errCmd recovered it)."""
        out = []
        for s in runs:
            state, o, _ = results[s.datum_id]
            if state == DatumState.SUCCESS:
                continue
            made = self.rows.get(s.datum_id)
            out.append(made[1] if made and made[0] == state else self.row(s, state, o))
        return out

    def bytes_moved(self, rows: Sequence[tuple]) -> tuple[int, int]:
        """(bytes in, bytes out) of the datums that ran: those in the store and `rows`."""
        return (self._flushed_bytes[0] + sum(r[BYTES_IN] for r in rows),
                self._flushed_bytes[1] + sum(r[BYTES_OUT] for r in rows))


# JSON of a datum's inputs and outputs, built from json's own string encoder: the same text as
# json.dumps, at a fraction of its per-call cost (a job writes 10^5 of each; lists, not
# generators, in the joins: str.join makes a list of a generator first).
_STR = json.encoder.encode_basestring_ascii


@functools.lru_cache(maxsize=256)
def _input_prefix(name: str, repo: str, branch: str) -> str:
    return f"[{_STR(name)}, {_STR(repo)}, {_STR(branch)}, "


def _inputs_json(d: Datum) -> str:
    inputs = d.inputs
    if len(inputs) == 1:  # most datums: no list to join (~0.5 µs a record)
        i = inputs[0]
        return f"[{_input_prefix(i.name, i.repo, i.branch)}{_STR(i.path)}]]"
    return "[" + ", ".join([f"{_input_prefix(i.name, i.repo, i.branch)}{_STR(i.path)}]"
                            for i in inputs]) + "]"


def _outputs_json(outputs) -> str:
    if len(outputs) == 1:
        path, h, size, _ = outputs[0]
        return f"[[{_STR(path)}, {_STR(h)}, {size}]]"
    return "[" + ", ".join([f"[{_STR(path)}, {_STR(h)}, {size}]" for path, h, size, *_ in outputs]) + "]"
