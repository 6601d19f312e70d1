"""The `datums` table and its `datum_records` view: what each job did with each datum.

A job's datum records are a stack of layers, as a commit's files are (files.py): a row's
`job_id` names its layer, a job's own layer is named by the job's id, and `job_layers` lists the
layers under it. A job planned from what changed since its base job (pps/delta.py) writes rows
only for the datums it ran or removed (a removal is a row of state GONE), over its base job's
layers: 10^6 unchanged datums cost no row. A datum's visible record is its row in the highest
layer that has one, and a row below the job's own layer is a datum the job skipped. A job without
`job_layers` rows has its own layer only. The layers under a job's own are compacted as it
finishes: the top two merge while the upper holds at least half the rows of the one under it.

A job of a full plan carries a row over for each datum it skipped instead. A carried row leaves
hash, inputs and outputs empty: they are those of the row in the layer of the job that processed
the datum (source_job), so carrying 10^5 unchanged datums copies ids only, with one INSERT…SELECT.
The `datum_records` view fills them in; every read of a datum's record goes through it.

A job writes and reads 10^5 rows at a time: `insert` takes plain tuples in COLUMNS order (inputs
and outputs already JSON text), and `base_records` builds the caller's records from plain tuples.

A first job writes its records as its datums finish; datum ids are hashes, so rows going into one
layer land all over its pages, and each write rewrites most of them (at 10^6 datums the job's
process wrote 7.4 GiB, most of it through the write-ahead log). A large write of a first job is a
run instead (`insert_run`): a layer of its own, `<job id>.<n>`, filled in key order, listed under
the job's own layer, as pachd's datum sets are filesets of their own. Its rows' source_job is the
job, and a job's own rows are those of its layer and its runs.
"""

from __future__ import annotations

import itertools
import json
import operator
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
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
GONE = ""  # the state of a row that removes a datum from the layers under it
MERGE_RATIO = 2
MAX_LAYERS = 24
LIST_CHUNK = 500

# Rows are built by name: every SELECT lists the row type's fields, in their order.
_COLS = ", ".join(DatumRecord._fields)
_LISTED = _COLS.replace("job_id, id, ", "")  # what _visible reads of a record


_INSERT_HEAD = f"INSERT INTO datums({', '.join(COLUMNS)}) VALUES"


def insert(tx: Tx, rows: Sequence[tuple]) -> None:
    """Rows of datums a job ran: tuples in COLUMNS order."""
    # In key order, SQLite fills pages in turn instead of splitting them at random.
    tx.insert_rows(_INSERT_HEAD, sorted(rows, key=operator.itemgetter(ID)))


def insert_run(tx: Tx, job_id: str, n: int, rows: Sequence[tuple]) -> None:
    """Rows of datums a first job ran, as its run n: a new layer listed at depth n under the job's
    own (a run's ids are no other run's)."""
    layer = run_layer(job_id, n)
    insert(tx, [(layer, *r[1:]) for r in rows])
    tx.db.execute("INSERT INTO datum_layers VALUES(?,?,?)",
                  (layer, len(rows), max(r[-1] for r in rows) + 1))
    tx.db.execute("INSERT INTO job_layers VALUES(?,?,?)", (job_id, n, layer))


def run_layer(job_id: str, n: int) -> str:
    return f"{job_id}.{n}"


def _owner(layer: str) -> str:
    """The layer a run belongs to (its job's own); any other layer is its own owner."""
    return layer.partition(".")[0]


def own(job_id: str, layers: Iterable[str]) -> list[str]:
    """Of a job's layers, those holding the datums it ran: its own and its runs'."""
    return [x for x in layers if _owner(x) == job_id]


def stack(s: Handle, job_id: str) -> list[str]:
    """A job's layers, bottom first, its own last (listed or not: under a running first job's,
    its runs only)."""
    layers = [r[0] for r in s.db.execute("SELECT layer FROM job_layers WHERE job_id=? ORDER BY depth",
                                         (job_id,))]
    return layers if layers and layers[-1] == job_id else [*layers, job_id]


def stored(s: Handle, job_id: str, ids: Sequence[str]) -> set[str]:
    """Of these ids, those the job's own layer or runs already hold a row of."""
    layers = own(job_id, stack(s, job_id))
    out: set[str] = set()
    for i in range(0, len(ids), 500):  # under SQLite's limit of parameters per statement
        chunk = ids[i:i + 500]
        out.update(r[0] for r in s.db.execute(
            f"SELECT id FROM datums WHERE job_id IN ({','.join('?' * len(layers))}) AND id IN "
            f"({','.join('?' * len(chunk))})", (*layers, *chunk)))
    return out


def _layer_meta(s: Handle, layer: str) -> tuple[int, int]:
    """(rows, next place) of a layer."""
    row = s.db.execute("SELECT rows, next_seq FROM datum_layers WHERE id=?", (layer,)).fetchone()
    if row is None:  # a job that did not finish (killed): its layer was never sealed
        row = s.db.execute("SELECT COUNT(*), COALESCE(MAX(seq), -1) + 1 FROM datums WHERE job_id=?",
                           (layer,)).fetchone()
    return tuple(row)


def next_seq(s: Handle, job_id: str) -> int:
    """The place after the job's last datum (0 for a job without datums)."""
    return max(_layer_meta(s, layer)[1] for layer in stack(s, job_id))


# A carried row: the base row's id and source_job, state `state`, hash, inputs and outputs empty
# (or, for a row that is a merged layer's copy, whose source row may be gone, its own).
_CARRY = ("INSERT INTO datums SELECT ?, d.id, CASE WHEN d.inputs = '' OR d.job_id = d.source_job "
          "THEN '' ELSE d.hash END, ?, '', CASE WHEN d.inputs = '' OR d.job_id = d.source_job "
          "THEN '' ELSE d.inputs END, CASE WHEN d.inputs = '' OR d.job_id = d.source_job THEN '' "
          "ELSE d.outputs END, NULL, NULL, NULL, 0, 0, d.source_job, ")


def _load_carry(tx: Tx, rows: Iterable[tuple[str, int | None]]) -> None:
    # The ids go through a temporary table: 10^5 of them are one executemany and one join.
    tx.db.execute("CREATE TEMP TABLE IF NOT EXISTS carry(id TEXT PRIMARY KEY, seq INTEGER)")
    tx.db.execute("DELETE FROM carry")
    tx.db.executemany("INSERT INTO carry VALUES(?,?)", rows)


def carry(tx: Tx, job_id: str, base_id: str, state: str, seqs: Iterable[tuple[str, int]]) -> None:
    """Carry the base job's records of these (datum id, place in this job) into job_id's layer."""
    _load_carry(tx, seqs)
    layers = stack(tx, base_id)
    for depth, layer in enumerate(layers):
        # Each id from the highest of the base's layers that has it.
        tx.db.execute(_CARRY + "c.seq FROM datums d JOIN carry c ON c.id=d.id WHERE d.job_id=? "
                      f"AND d.state != '' AND NOT EXISTS (SELECT 1 FROM datums u WHERE u.id=d.id "
                      f"AND u.job_id IN ({','.join('?' * (len(layers) - depth - 1)) or 'NULL'}))",
                      (job_id, state, layer, *layers[depth + 1:]))


def layer_on(tx: Tx, job_id: str, base_id: str, removed: Iterable[str]) -> None:
    """Make the base job's records the layers under job_id's own (which holds what it ran), less
    the `removed` datums: no row for a datum carried unchanged."""
    db = tx.db
    db.executemany(f"INSERT INTO datums({', '.join(COLUMNS)}) VALUES(?,?,'',?,'','','',NULL,NULL,"
                   "NULL,0,0,?,-1)", [(job_id, did, GONE, job_id) for did in removed])
    layers = stack(tx, base_id)
    db.executemany("INSERT INTO job_layers VALUES(?,?,?)",
                   [(job_id, depth, layer) for depth, layer in enumerate([*layers, job_id])])
    _compact(tx, job_id, layers)


def seal(tx: Tx, job_id: str) -> None:
    """A job's own layer is complete: its rows and next place are recorded (a later job layers
    on it)."""
    tx.db.execute("INSERT OR REPLACE INTO datum_layers SELECT ?1, COUNT(*), COALESCE(MAX(seq), -1) + 1 "
                  "FROM datums WHERE job_id=?1", (job_id,))


def _compact(tx: Tx, job_id: str, lower: list[str]) -> None:
    """Merge the top two of the layers under job_id's own while the upper is not much smaller. A
    job's runs and its own layer are one layer here (their rows are its datums, each once): runs
    are of a size, and merged one by one they would be copied again at each step."""
    db = tx.db
    units = [list(g) for _, g in itertools.groupby(lower, key=_owner)]
    meta = [_unit_meta(tx, u) for u in units]
    while len(units) > 1 and (meta[-1][0] * MERGE_RATIO >= meta[-2][0] or len(units) > MAX_LAYERS):
        (below, above), merged = units[-2:], f"layer-{uuid.uuid4().hex}"
        cols = ", ".join(COLUMNS[1:])
        b, a = ",".join("?" * len(below)), ",".join("?" * len(above))
        db.execute(f"INSERT INTO datums SELECT ?, {cols} FROM datums d WHERE job_id IN ({b}) AND "
                   f"NOT EXISTS (SELECT 1 FROM datums u WHERE u.job_id IN ({a}) AND u.id=d.id)",
                   (merged, *below, *above))
        # (A bottom layer needs no removals: nothing is under it.)
        db.execute(f"INSERT INTO datums SELECT ?, {cols} FROM datums WHERE job_id IN ({a}) AND "
                   "(? OR state != '')", (merged, *above, len(units) > 2))
        rows = db.execute("SELECT COUNT(*) FROM datums WHERE job_id=?", (merged,)).fetchone()[0]
        top = max(meta[-1][1], meta[-2][1])
        db.execute("INSERT INTO datum_layers VALUES(?,?,?)", (merged, rows, top))
        depth = sum(len(u) for u in units[:-2])
        db.execute("DELETE FROM job_layers WHERE job_id=? AND depth>=?", (job_id, depth))
        db.executemany("INSERT INTO job_layers VALUES(?,?,?)",
                       [(job_id, depth, merged), (job_id, depth + 1, job_id)])
        units[-2:], meta[-2:] = [[merged]], [(rows, top)]
        _drop_unused(tx, [*below, *above])


def _unit_meta(s: Handle, unit: list[str]) -> tuple[int, int]:
    """(rows, next place) of layers compacted as one."""
    metas = [_layer_meta(s, layer) for layer in unit]
    return sum(m[0] for m in metas), max(m[1] for m in metas)


def _drop_unused(tx: Tx, layers: Iterable[str], gone_job: str | None = None) -> None:
    """Remove those layers no job lists and no (other) job owns; records elsewhere that carry a
    row of one get its hash, inputs and outputs first."""
    db = tx.db
    for layer in layers:
        if db.execute("SELECT 1 FROM job_layers WHERE layer=? LIMIT 1", (layer,)).fetchone() or \
                (layer != gone_job and db.execute("SELECT 1 FROM jobs WHERE id=?", (layer,)).fetchone()):
            continue
        db.execute(
            "UPDATE datums SET (hash, inputs, outputs, source_job) = (SELECT s.hash, s.inputs, "
            "s.outputs, datums.job_id FROM datums s WHERE s.job_id=?1 AND s.id=datums.id) "
            "WHERE source_job=?1 AND job_id!=?1 AND inputs=''", (layer,))
        db.execute("DELETE FROM datums WHERE job_id=?", (layer,))
        db.execute("DELETE FROM datum_layers WHERE id=?", (layer,))


def delete_job(tx: Tx, job_id: str) -> None:
    """A job's records go (its commit set was squashed or dropped): its layers that no other job
    lists, its own among them."""
    layers = stack(tx, job_id)
    tx.db.execute("DELETE FROM job_layers WHERE job_id=?", (job_id,))
    _drop_unused(tx, dict.fromkeys([*layers, job_id]), gone_job=job_id)


# What a datum's record shows in a job that skipped it (the columns a carried row leaves empty).
_SKIPPED = {"state": "skipped", "reason": "", "started": None, "duration": None, "log_hash": None,
            "bytes_in": 0, "bytes_out": 0}


def _visible(s: Handle, job_id: str, cols: str, where: str = "", args: tuple = ()) -> list[tuple]:
    """The rows (layer, id, then cols of datum_records) a job sees: each id's from its highest
    layer, removals left out; a row below its own layer shows as a skip. `where` is ANDed to the
    query of each layer. `cols` must name `state`."""
    layers = stack(s, job_id)
    cur = s.db.cursor()
    cur.row_factory = None
    sql = f"SELECT job_id, id, {cols} FROM datum_records WHERE job_id=? {where}"
    if len(layers) == 1:
        return cur.execute(sql, (job_id, *args)).fetchall()
    found: dict[str, tuple] = {}
    for layer in layers:
        found.update((r[1], r) for r in cur.execute(sql, (layer, *args)))
    names = ["job_id", "id", *cols.split(", ")]
    state = names.index("state")
    skipped = [(names.index(c), v) for c, v in _SKIPPED.items() if c in names]
    mine = set(own(job_id, layers))
    out = []
    for r in found.values():
        if r[state] == GONE:
            continue
        if r[0] not in mine:
            r = list(r)
            for i, v in skipped:
                r[i] = v
            r = tuple(r)
        out.append(r)
    return out


def base_records(s: Handle, job_id: str,
                 make: Callable[[str, str, str, tuple[tuple[str, str, int], ...], str], T],
                 ids: list[str] | None = None) -> dict[str, T]:
    """datum id → make(id, hash, state, outputs, source_job) for every datum of a job, or for
    those ids: what a new job compares its datums with. A full plan reads 10^5: the
    caller's record type is made straight from each row, with no row object in between."""
    out: dict[str, T] = {}

    def add(rows) -> None:
        for _, did, h, state, outputs, source in rows:
            out[did] = make(did, h, state, tuple(tuple(o) for o in json.loads(outputs)), source)
    cols = "hash, state, outputs, source_job"
    layers = stack(s, job_id)
    if ids is not None and len(layers) > 1 and \
            len(ids) * len(layers) > sum(_layer_meta(s, x)[0] for x in layers):
        # Fewer rows to read than ids to look for in every layer: all of them, then those ids.
        wanted = set(ids)
        add(r for r in _visible(s, job_id, cols) if r[1] in wanted)
    elif ids is None:
        add(_visible(s, job_id, cols))
    else:
        for i in range(0, len(ids), 500):  # under SQLite's limit of parameters per statement
            chunk = ids[i:i + 500]
            add(_visible(s, job_id, cols, f"AND id IN ({','.join('?' * len(chunk))})", tuple(chunk)))
    return out


def records(s: Handle, job_id: str, id_prefix: str | None = None,
            state: str | None = None) -> Iterator[DatumRecord]:
    """A job's datum records, in order (those whose id starts with id_prefix, or whose state is
    `state`, when given), read LIST_CHUNK places at a time from the layer holding each: what is
    held meanwhile is each one's place, id and layer (10^6 records read whole were ~2 GB)."""
    layers = stack(s, job_id)
    cur = s.db.cursor()
    cur.row_factory = None
    mine = {n for n, layer in enumerate(layers) if _owner(layer) == job_id}
    # id → (place, layer, 1 if listed / 0 if not / 2 if removed), the highest layer's winning:
    # _visible's merge, with ints where it holds each row's layer and state as strings.
    found: dict[str, tuple[int, int, int]] = {}
    where, prefix = ("", ()) if id_prefix is None else (" AND id LIKE ? || '%'", (id_prefix,))
    for n, layer in enumerate(layers):
        shown = "state" if n in mine else f"'{_SKIPPED['state']}'"  # under its own: a skip
        found.update((did, (seq, n, code)) for did, seq, code in cur.execute(
            f"SELECT id, seq, CASE WHEN state=? THEN 2 WHEN ? IS NULL OR {shown}=? THEN 1 ELSE 0 "
            f"END FROM datums WHERE job_id=?{where}", (GONE, state, state, layer, *prefix)))
    order = sorted([(seq, n, did) for did, (seq, n, code) in found.items() if code == 1])
    del found
    for i in range(0, len(order), LIST_CHUNK):
        chunk = order[i:i + LIST_CHUNK]
        by_layer: dict[int, list[str]] = {}
        for _, n, did in chunk:
            by_layer.setdefault(n, []).append(did)
        rows: dict[str, tuple] = {}
        for n, ids in by_layer.items():
            rows.update((r[1], r) for r in cur.execute(
                f"SELECT {_COLS} FROM datum_records WHERE job_id=? AND id IN "
                f"({','.join('?' * len(ids))})", (layers[n], *ids)))
        for _, n, did in chunk:
            r = rows.get(did)
            if r is None:  # moved since (a finishing job compacts its layers): read it again
                yield from (_record(job_id, r) for r in _visible(s, job_id, _LISTED, "AND id=?", (did,)))
                continue
            rec = _record(job_id, r)
            yield rec if n in mine else rec._replace(**_SKIPPED)


def _record(job_id: str, r: tuple) -> DatumRecord:
    rec = DatumRecord._make((job_id, *r[1:]))
    return rec._replace(inputs=tuple(tuple(i) for i in json.loads(rec.inputs)),
                        outputs=tuple(tuple(o) for o in json.loads(rec.outputs)))


def logs(s: Handle, job_id: str, id_prefix: str | None = None) -> list[tuple[str, str]]:
    """(datum id, log object hash) of a job's datums that printed something, in order."""
    layers = own(job_id, stack(s, job_id))
    return [(did, h) for did, h in s.db.execute(
        f"SELECT id, log_hash FROM datums WHERE job_id IN ({','.join('?' * len(layers))}) AND "
        "log_hash IS NOT NULL AND (? IS NULL OR id LIKE ? || '%') ORDER BY seq",
        (*layers, id_prefix, id_prefix))]


def output_owner(s: Handle, job_id: str, path: str) -> str | None:
    """A datum of the job that output `path` (None if none did)."""
    needle = json.dumps(path)
    for _, did, outputs, _state in _visible(s, job_id, "outputs, state"):
        if needle in outputs:
            return did
    return None


# Each output of a job's succeeded datums (its own layers' rows): o.value is [path, hash, size].
_OUTPUTS = "FROM datums d, json_each(d.outputs) o WHERE d.job_id IN ({}) AND d.state='success'"
_PATH = "json_extract(o.value, '$[0]')"


def duplicate_output(s: Handle, job_id: str) -> tuple[str, str, str] | None:
    """(path, datum, other datum) of a path two of a job's succeeded datums output, if any."""
    layers = own(job_id, stack(s, job_id))
    outputs = _OUTPUTS.format(",".join("?" * len(layers)))
    row = s.db.execute(f"SELECT {_PATH} AS p {outputs} GROUP BY p HAVING COUNT(*) > 1 LIMIT 1",
                       layers).fetchone()
    if row is None:
        return None
    a, b = (did for did, in s.db.execute(f"SELECT d.id {outputs} AND {_PATH}=? ORDER BY d.seq "
                                         "LIMIT 2", (*layers, row[0])))
    return row[0], a, b
