"""The `datums` table and its `datum_records` view: what each job did with each datum.

A job writes one row per datum it ran, and carries a row over for each datum it skipped. A
carried row leaves hash, inputs and outputs empty: they are those of the row of the job that
processed the datum (source_job), so carrying 10^5 unchanged datums copies ids only, with one
INSERT…SELECT. The `datum_records` view fills them in; every read of a datum's record goes
through it.

A job writes and reads 10^5 rows at a time: `insert` takes plain tuples in COLUMNS order (inputs
and outputs already JSON text), and `base_records` builds the caller's records from plain tuples.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple, TypeVar

if TYPE_CHECKING:
    from pachlite.store.db import Handle, Tx


# The columns of `datums`, in the order of the tuples `insert` takes:
#   job_id, id, hash, state, reason,
#   inputs      JSON: [[name, repo, branch, path], ...]
#   outputs     JSON: [[path, content hash, size], ...]
#   started, duration,
#   log_hash    the object holding what the user code printed, if it printed anything
#   bytes_in, bytes_out,
#   source_job  the job that processed the datum (the row's own job, for a datum it ran)
#   seq         the datum's place in the job's listing
# Plain tuples, not a NamedTuple: one costs 0.6 µs to make, and executemany binds a tuple
# subclass 2.3 µs a row slower than a tuple (measured: +60 ms for a job of 20,000 datums).
COLUMNS = ("job_id", "id", "hash", "state", "reason", "inputs", "outputs", "started", "duration",
           "log_hash", "bytes_in", "bytes_out", "source_job", "seq")
# The places of the columns a job reads back from the rows it made.
ID, LOG_HASH, BYTES_IN, BYTES_OUT = (COLUMNS.index(c)
                                     for c in ("id", "log_hash", "bytes_in", "bytes_out"))


class DatumRecord(NamedTuple):
    """A datum's record as the `datum_records` view gives it, JSON decoded."""
    job_id: str
    id: str
    hash: str
    state: str
    reason: str
    inputs: tuple[tuple[str, str, str, str], ...]  # (name, repo, branch, path)
    outputs: tuple[tuple[str, str, int], ...]      # (path, content hash, size)
    started: float | None
    duration: float | None
    log_hash: str | None
    bytes_in: int
    bytes_out: int
    source_job: str
    seq: int


T = TypeVar("T")

# Rows are built by name: every SELECT lists the row type's fields, in their order.
_COLS = ", ".join(DatumRecord._fields)


_INSERT = f"INSERT INTO datums({', '.join(COLUMNS)}) VALUES({', '.join('?' * len(COLUMNS))})"


def insert(tx: Tx, rows: Sequence[tuple]) -> None:
    """Rows of datums a job ran: tuples in COLUMNS order."""
    tx.db.executemany(_INSERT, rows)


def next_seq(s: Handle, job_id: str) -> int:
    """The place after the job's last datum (0 for a job without datums)."""
    return s.db.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM datums WHERE job_id=?",
                        (job_id,)).fetchone()[0]


# A carried row: the base row's id and source_job, state `state`, hash, inputs and outputs empty.
_CARRY = ("INSERT INTO datums SELECT ?, d.id, '', ?, '', '', '', NULL, NULL, NULL, 0, 0, "
          "d.source_job, ")


def _load_carry(tx: Tx, rows: Iterable[tuple[str, int | None]]) -> None:
    # The ids go through a temporary table: 10^5 of them are one executemany and one join.
    tx.db.execute("CREATE TEMP TABLE IF NOT EXISTS carry(id TEXT PRIMARY KEY, seq INTEGER)")
    tx.db.execute("DELETE FROM carry")
    tx.db.executemany("INSERT INTO carry VALUES(?,?)", rows)


def carry(tx: Tx, job_id: str, base_id: str, state: str, seqs: Iterable[tuple[str, int]]) -> None:
    """Carry the base job's rows of these (datum id, place in this job) into job_id."""
    _load_carry(tx, seqs)
    tx.db.execute(_CARRY + "c.seq FROM datums d JOIN carry c ON c.id=d.id WHERE d.job_id=?",
                  (job_id, state, base_id))


def carry_except(tx: Tx, job_id: str, base_id: str, state: str, listed: Iterable[str]) -> None:
    """Carry every row of the base job but those of `listed` datums into job_id, each in its
    place in the base job (a delta plan lists only the datums it looked at)."""
    _load_carry(tx, ((i, None) for i in listed))
    tx.db.execute(_CARRY + "d.seq FROM datums d WHERE d.job_id=? AND d.id NOT IN "
                  "(SELECT id FROM carry)", (job_id, state, base_id))


def keep_carried(tx: Tx, source_job: str) -> None:
    """Before a job's rows go: the rows other jobs carried from it get its hash, inputs and
    outputs, and become their own jobs' (they name no row that is gone)."""
    tx.db.execute(
        "UPDATE datums SET (hash, inputs, outputs, source_job) = (SELECT s.hash, s.inputs, "
        "s.outputs, datums.job_id FROM datums s WHERE s.job_id=?1 AND s.id=datums.id) "
        "WHERE source_job=?1 AND job_id!=?1 AND inputs=''", (source_job,))


def base_records(s: Handle, job_id: str,
                 make: Callable[[str, str, str, tuple[tuple[str, str, int], ...], str], T],
                 ids: list[str] | None = None) -> dict[str, T]:
    """datum id → make(id, hash, state, outputs, source_job) for every datum of a job, or for
    those ids: what a new job compares its datums with. A full plan reads 10^5: the
    caller's record type is made straight from each row, with no row object in between."""
    out: dict[str, T] = {}
    cur = s.db.cursor()
    cur.row_factory = None  # plain tuples

    def add(rows) -> None:
        for did, h, state, outputs, source in rows:
            out[did] = make(did, h, state, tuple(tuple(o) for o in json.loads(outputs)), source)
    sql = "SELECT id, hash, state, outputs, source_job FROM datum_records WHERE job_id=?"
    if ids is None:
        add(cur.execute(sql, (job_id,)))
    else:
        for i in range(0, len(ids), 500):  # under SQLite's limit of parameters per statement
            chunk = ids[i:i + 500]
            add(cur.execute(f"{sql} AND id IN ({','.join('?' * len(chunk))})", (job_id, *chunk)))
    return out


def records(s: Handle, job_id: str, id_prefix: str | None = None) -> list[DatumRecord]:
    """A job's datum records (those whose id starts with id_prefix, when given), in order."""
    out = []
    for r in s.db.execute(f"SELECT {_COLS} FROM datum_records WHERE job_id=?1 AND "
                          "(?2 IS NULL OR id LIKE ?2 || '%') ORDER BY seq", (job_id, id_prefix)):
        rec = DatumRecord._make(r)
        out.append(rec._replace(inputs=tuple(tuple(i) for i in json.loads(rec.inputs)),
                                outputs=tuple(tuple(o) for o in json.loads(rec.outputs))))
    return out


def logs(s: Handle, job_id: str, id_prefix: str | None = None) -> list[tuple[str, str]]:
    """(datum id, log object hash) of a job's datums that printed something, in order."""
    return [(did, h) for did, h in s.db.execute(
        "SELECT id, log_hash FROM datums WHERE job_id=?1 AND log_hash IS NOT NULL AND "
        "(?2 IS NULL OR id LIKE ?2 || '%') ORDER BY seq", (job_id, id_prefix))]


def output_owner(s: Handle, job_id: str, path: str) -> str | None:
    """A datum of the job that output `path` (None if none did)."""
    row = s.db.execute("SELECT id FROM datum_records WHERE job_id=? AND instr(outputs, ?) LIMIT 1",
                       (job_id, json.dumps(path))).fetchone()
    return row[0] if row else None
