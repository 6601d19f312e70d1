"""The store's tables, as SQL DDL, and the format version that names this layout.

One module per table (repos, branches, commits, files, pipelines, jobs, datums, objects) holds
that table's typed rows and named queries; this is the one place that says what the tables are.
Changing a table means a new FORMAT_VERSION and a step in MIGRATIONS that brings a store of the
previous version to it in place; a store of any other version is refused.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import struct

FORMAT_VERSION = 10
DB_FILE = "pachlite.db"  # in the store's root, beside objects/

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects(hash TEXT PRIMARY KEY, size INTEGER NOT NULL, data BLOB)
    WITHOUT ROWID;
-- Repos and pipelines are keyed by project: a key is the name in the default project and
-- `project/name` in any other (pfs/address.py), so a store made before projects (format 4) is
-- the default project's unchanged. Branches, commits, provenance and jobs name repos and
-- pipelines by these keys.
CREATE TABLE IF NOT EXISTS projects(
    name TEXT PRIMARY KEY, created REAL NOT NULL, description TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS repos(
    name TEXT PRIMARY KEY, created REAL NOT NULL, description TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT 'user');
-- id is the row's key (files, parents and branch heads name it), commit_set the id pachd shows:
-- the commit set (global id) shared by every commit and job it caused, one commit per repo.
-- error: why the job writing this (AUTO) commit failed, the commit being finished with it.
CREATE TABLE IF NOT EXISTS commits(
    id TEXT PRIMARY KEY, repo TEXT NOT NULL, branch TEXT, parent TEXT, origin TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '', started REAL NOT NULL, finished REAL,
    size INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL, commit_set TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS commits_repo ON commits(repo, seq);
CREATE INDEX IF NOT EXISTS commits_set ON commits(commit_set);
-- The primary key's columns come first: SQLite 3.40's integrity check reports a false "NULL value
-- in provenance.repo" on a WITHOUT ROWID table whose NOT NULL column sits between them (format 3).
CREATE TABLE IF NOT EXISTS provenance(
    commit_id TEXT NOT NULL, prov_commit TEXT NOT NULL, repo TEXT NOT NULL, branch TEXT,
    PRIMARY KEY(commit_id, prov_commit)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS branches(
    repo TEXT NOT NULL, name TEXT NOT NULL, head TEXT, PRIMARY KEY(repo, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS triggers(
    repo TEXT NOT NULL, branch TEXT NOT NULL, on_branch TEXT NOT NULL,
    size TEXT NOT NULL DEFAULT '', commits INTEGER NOT NULL DEFAULT 0,
    all_conditions INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(repo, branch)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS branch_provenance(
    repo TEXT NOT NULL, branch TEXT NOT NULL, prov_repo TEXT NOT NULL, prov_branch TEXT NOT NULL,
    PRIMARY KEY(repo, branch, prov_repo, prov_branch)) WITHOUT ROWID;
-- A commit's files are a stack of layers (files.py): commit_layers lists them, bottom (depth 0)
-- first, and a path's row in the highest layer wins, and hash '' there deletes it. Layers are shared
-- between a commit and the commits started from it. layers.rows: how many rows a layer holds.
CREATE TABLE IF NOT EXISTS layers(id INTEGER PRIMARY KEY, rows INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS commit_layers(
    commit_id TEXT NOT NULL, depth INTEGER NOT NULL, layer INTEGER NOT NULL,
    PRIMARY KEY(commit_id, depth)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS commit_layers_layer ON commit_layers(layer);
CREATE TABLE IF NOT EXISTS files(
    layer INTEGER NOT NULL, path TEXT NOT NULL, hash TEXT NOT NULL, size INTEGER NOT NULL,
    PRIMARY KEY(layer, path)) WITHOUT ROWID;
-- A layer being written in chunks by a large write (put file -r, a job's output) before the
-- transaction that gives it to a commit. pid: the process writing it (its layer is dropped once
-- that process is gone).
CREATE TABLE IF NOT EXISTS staged(layer INTEGER PRIMARY KEY, pid INTEGER NOT NULL,
    started REAL NOT NULL);
CREATE TABLE IF NOT EXISTS pipelines(
    name TEXT PRIMARY KEY, spec TEXT NOT NULL, salt TEXT NOT NULL, version INTEGER NOT NULL,
    created REAL NOT NULL, updated REAL NOT NULL, state TEXT NOT NULL DEFAULT 'running',
    reason TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS jobs(
    id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, pipeline_version INTEGER NOT NULL,
    salt TEXT NOT NULL, output_commit TEXT, state TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL, started REAL, finished REAL,
    processed INTEGER NOT NULL DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0, recovered INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0, bytes_in INTEGER NOT NULL DEFAULT 0,
    bytes_out INTEGER NOT NULL DEFAULT 0, inputs TEXT NOT NULL DEFAULT '[]', seq INTEGER NOT NULL,
    commit_set TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_pipeline ON jobs(pipeline, seq);
CREATE INDEX IF NOT EXISTS jobs_set ON jobs(commit_set);
CREATE TABLE IF NOT EXISTS datums(
    job_id TEXT NOT NULL, id TEXT NOT NULL, hash TEXT NOT NULL, state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '', inputs TEXT NOT NULL, outputs TEXT NOT NULL DEFAULT '[]',
    started REAL, duration REAL, log_hash TEXT, bytes_in INTEGER NOT NULL DEFAULT 0,
    bytes_out INTEGER NOT NULL DEFAULT 0, source_job TEXT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY(job_id, id)) WITHOUT ROWID;
-- The paths a commit changed relative to its parent (put, or deleted), kept for commits whose
-- files start as their parent's (change_logs): a job finds what changed in an input by reading
-- these along the parent chain instead of comparing two whole file lists.
CREATE TABLE IF NOT EXISTS change_logs(commit_id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes(
    commit_id TEXT NOT NULL, path TEXT NOT NULL, PRIMARY KEY(commit_id, path)) WITHOUT ROWID;
-- A job's datum records are a stack of layers (datums.py): datums.job_id names a row's layer (a
-- job's own is named by its id), and job_layers lists a job's, bottom first, its own last (none:
-- its own only). datum_layers: a finished layer's rows and the place after its last datum.
CREATE TABLE IF NOT EXISTS job_layers(
    job_id TEXT NOT NULL, depth INTEGER NOT NULL, layer TEXT NOT NULL,
    PRIMARY KEY(job_id, depth)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS job_layers_layer ON job_layers(layer);
CREATE TABLE IF NOT EXISTS datum_layers(
    id TEXT PRIMARY KEY, rows INTEGER NOT NULL, next_seq INTEGER NOT NULL) WITHOUT ROWID;
-- A skipped datum's row leaves its hash, inputs and outputs empty: they are those of the row of
-- the job that processed it (source_job), so carrying 10^5 unchanged datums copies ids only.
CREATE VIEW IF NOT EXISTS datum_records AS
    SELECT d.job_id, d.id, CASE d.inputs WHEN '' THEN s.hash ELSE d.hash END AS hash, d.state,
           d.reason,
           CASE d.inputs WHEN '' THEN s.inputs ELSE d.inputs END AS inputs,
           CASE d.inputs WHEN '' THEN s.outputs ELSE d.outputs END AS outputs,
           d.started, d.duration, d.log_hash, d.bytes_in, d.bytes_out, d.source_job, d.seq
    FROM datums d LEFT JOIN datums s ON d.inputs = '' AND s.job_id = d.source_job AND s.id = d.id;
"""


def format_version(db: sqlite3.Connection) -> int | None:
    """The format version a database was made with; None for a new (empty) database."""
    try:
        row = db.execute("SELECT value FROM meta WHERE key='format_version'").fetchone()
    except sqlite3.OperationalError:  # no meta table yet
        return None
    return None if row is None else int(row[0])


_INT64 = struct.Struct(">q").pack


def _blake2b_datum_id(inputs_json: str) -> str:
    """A datum's format-6 ID (pachd's DatumID) from its recorded [[name, repo, branch, path], …]:
    the framing pps/datum.py hashes, written out here because the store imports nothing above it."""
    framing = b""
    for fields in json.loads(inputs_json):
        for f in fields:
            b = f.encode()
            framing += b + _INT64(len(b))
    return hashlib.blake2b(framing, digest_size=32).hexdigest()


def _datum_ids_to_blake2b(db: sqlite3.Connection) -> None:
    """Format 5's datum IDs were a sha256 of the framing: each is mapped to its BLAKE2b one, in
    the rows that hold their inputs and in the carried rows (inputs '') that share their ID."""
    db.create_function("pachlite_datum_id", 1, _blake2b_datum_id, deterministic=True)
    db.execute("CREATE TEMP TABLE datum_ids(old TEXT PRIMARY KEY, new TEXT NOT NULL)")
    db.execute("INSERT OR IGNORE INTO datum_ids SELECT id, pachlite_datum_id(inputs) FROM datums "
               "WHERE inputs != ''")
    db.execute("UPDATE datums SET id=(SELECT new FROM datum_ids WHERE old=datums.id) "
               "WHERE id IN (SELECT old FROM datum_ids)")
    db.execute("DROP TABLE datum_ids")


# pachd makes the default project when it starts; a store has it from its first day.
_DEFAULT_PROJECT = ("INSERT OR IGNORE INTO projects VALUES('default', "
                    "COALESCE((SELECT MIN(created) FROM repos), (julianday('now') - 2440587.5) * 86400.0), '')")

# version → the steps (SQL statements, or functions of the connection) that bring a store of
# that version to the next one.
MIGRATIONS = {
    3: [  # provenance: the primary key's columns first
        "CREATE TABLE provenance_4(commit_id TEXT NOT NULL, prov_commit TEXT NOT NULL, "
        "repo TEXT NOT NULL, branch TEXT, PRIMARY KEY(commit_id, prov_commit)) WITHOUT ROWID",
        "INSERT INTO provenance_4 SELECT commit_id, prov_commit, repo, branch FROM provenance",
        "DROP TABLE provenance",
        "ALTER TABLE provenance_4 RENAME TO provenance",
    ],
    4: [  # projects: every repo and pipeline of a format-4 store is the default project's
        "CREATE TABLE projects(name TEXT PRIMARY KEY, created REAL NOT NULL, "
        "description TEXT NOT NULL DEFAULT '')",
        _DEFAULT_PROJECT,
    ],
    5: [  # branch triggers and branch provenance (create branch --trigger/--provenance)
        "CREATE TABLE triggers(repo TEXT NOT NULL, branch TEXT NOT NULL, on_branch TEXT NOT NULL, "
        "size TEXT NOT NULL DEFAULT '', commits INTEGER NOT NULL DEFAULT 0, "
        "all_conditions INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(repo, branch)) WITHOUT ROWID",
        "CREATE TABLE branch_provenance(repo TEXT NOT NULL, branch TEXT NOT NULL, "
        "prov_repo TEXT NOT NULL, prov_branch TEXT NOT NULL, "
        "PRIMARY KEY(repo, branch, prov_repo, prov_branch)) WITHOUT ROWID",
    ],
    6: [  # commit sets, errored commits, BLAKE2b datum IDs. An old commit or job is a set alone.
        "ALTER TABLE commits ADD COLUMN commit_set TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE commits ADD COLUMN error TEXT NOT NULL DEFAULT ''",
        "UPDATE commits SET commit_set=id",
        "CREATE INDEX commits_set ON commits(commit_set)",
        "ALTER TABLE jobs ADD COLUMN commit_set TEXT NOT NULL DEFAULT ''",
        "UPDATE jobs SET commit_set=id",
        "CREATE INDEX jobs_set ON jobs(commit_set)",
        _datum_ids_to_blake2b,
    ],
    7: [  # layered commits and datum records: each commit's full file list becomes its one
         # layer (its rowid's)
        "UPDATE commits SET size=(SELECT COALESCE(SUM(size), 0) FROM files WHERE commit_id=commits.id) "
        "WHERE finished IS NULL",  # an open commit's size is now kept as it is written
        "CREATE TABLE layers(id INTEGER PRIMARY KEY, rows INTEGER NOT NULL)",
        "CREATE TABLE commit_layers(commit_id TEXT NOT NULL, depth INTEGER NOT NULL, "
        "layer INTEGER NOT NULL, PRIMARY KEY(commit_id, depth)) WITHOUT ROWID",
        "CREATE INDEX commit_layers_layer ON commit_layers(layer)",
        "CREATE TABLE files_8(layer INTEGER NOT NULL, path TEXT NOT NULL, hash TEXT NOT NULL, "
        "size INTEGER NOT NULL, PRIMARY KEY(layer, path)) WITHOUT ROWID",
        "INSERT INTO files_8 SELECT c.rowid, f.path, f.hash, f.size FROM files f "
        "JOIN commits c ON c.id=f.commit_id ORDER BY c.rowid, f.path",
        "INSERT INTO layers SELECT layer, COUNT(*) FROM files_8 GROUP BY layer",
        "INSERT INTO commit_layers SELECT c.id, 0, c.rowid FROM commits c "
        "WHERE c.rowid IN (SELECT id FROM layers)",
        "DROP TABLE files",
        "ALTER TABLE files_8 RENAME TO files",
        # layered datum records: every job of format 7 has its own layer only
        "CREATE TABLE job_layers(job_id TEXT NOT NULL, depth INTEGER NOT NULL, layer TEXT NOT NULL, "
        "PRIMARY KEY(job_id, depth)) WITHOUT ROWID",
        "CREATE INDEX job_layers_layer ON job_layers(layer)",
        "CREATE TABLE datum_layers(id TEXT PRIMARY KEY, rows INTEGER NOT NULL, "
        "next_seq INTEGER NOT NULL) WITHOUT ROWID",
        "INSERT INTO datum_layers SELECT job_id, COUNT(*), MAX(seq) + 1 FROM datums GROUP BY job_id",
    ],
    8: [  # staged layers: large writes in chunks (put file -r, a job's output)
        "CREATE TABLE staged(layer INTEGER PRIMARY KEY, pid INTEGER NOT NULL, started REAL NOT NULL)",
    ],
    # A first job's runs (datums.py): its job_layers may list its runs without its own layer,
    # which is implied. No format-9 store has runs, so nothing changes; the version keeps an
    # older pachlite, which would read such a job without its own layer, from opening the store.
    9: [],
}


def migrate(db: sqlite3.Connection, version: int) -> None:
    """Bring a store of `version` to FORMAT_VERSION (inside the caller's transaction)."""
    while version < FORMAT_VERSION:
        for step in MIGRATIONS[version]:
            if callable(step):
                step(db)
            else:
                db.execute(step)
        version += 1
    db.execute("UPDATE meta SET value=? WHERE key='format_version'", (str(FORMAT_VERSION),))


def create(db: sqlite3.Connection) -> None:
    """Make every table (inside the caller's transaction) and record FORMAT_VERSION."""
    # executescript() would commit the open transaction first: one statement at a time instead.
    for stmt in SCHEMA.split(";"):
        if stmt.strip():
            db.execute(stmt)
    db.execute(_DEFAULT_PROJECT)
    db.execute("INSERT OR IGNORE INTO meta VALUES('format_version', ?)", (str(FORMAT_VERSION),))
