"""The on-disk store: SQLite metadata plus content-addressed, deduplicated objects.

Layout of `.pachlite/` (or `$PACHLITE_STORE`):
    pachlite.db        SQLite (WAL): repos, branches, commits, files, objects, pipelines, jobs, datums
    objects/ab/<hash>  contents larger than INLINE_MAX; smaller ones live in the `objects` table

Why small objects live in SQLite: a repo of 100,000 small files would otherwise cost 100,000
file creations and renames; inside one transaction they cost one fsync and appear atomically with
the commit that names them. Large objects are written to a temporary name and renamed into place
before the transaction that references them, so a crash leaves at worst an unreferenced object
file (harmless: the next put of that content reuses it), never a reference to a missing or
partial one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator

from pachlite.errors import Conflict, InvalidInput, PachliteError

FORMAT_VERSION = 3
INLINE_MAX = 256 * 1024
CHUNK = 1 << 20
BUSY_TIMEOUT_S = 30.0
ENV_VAR = "PACHLITE_STORE"
# How long a writer waits for another one before it gives up with "the store is busy".
TIMEOUT_VAR = "PACHLITE_BUSY_TIMEOUT"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects(hash TEXT PRIMARY KEY, size INTEGER NOT NULL, data BLOB)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS repos(
    name TEXT PRIMARY KEY, created REAL NOT NULL, description TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT 'user');
CREATE TABLE IF NOT EXISTS commits(
    id TEXT PRIMARY KEY, repo TEXT NOT NULL, branch TEXT, parent TEXT, origin TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '', started REAL NOT NULL, finished REAL,
    size INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS commits_repo ON commits(repo, seq);
CREATE TABLE IF NOT EXISTS provenance(
    commit_id TEXT NOT NULL, repo TEXT NOT NULL, branch TEXT, prov_commit TEXT NOT NULL,
    PRIMARY KEY(commit_id, prov_commit)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS branches(
    repo TEXT NOT NULL, name TEXT NOT NULL, head TEXT, PRIMARY KEY(repo, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files(
    commit_id TEXT NOT NULL, path TEXT NOT NULL, hash TEXT NOT NULL, size INTEGER NOT NULL,
    PRIMARY KEY(commit_id, path)) WITHOUT ROWID;
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
    bytes_out INTEGER NOT NULL DEFAULT 0, inputs TEXT NOT NULL DEFAULT '[]', seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_pipeline ON jobs(pipeline, seq);
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


def write_large(objects_dir: Path, src: BinaryIO, first: bytes = b"") -> tuple[str, int, None]:
    """Stream a large content into objects/ (temp name, then rename); return (hash, size, None).

    Written under a temporary name, synced, and renamed before the transaction that refers to
    it commits: no commit ever names a partial object.
    """
    h = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=objects_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            chunk = first
            while chunk:
                h.update(chunk)
                out.write(chunk)
                size += len(chunk)
                chunk = src.read(CHUNK)
            out.flush()
            os.fsync(out.fileno())
        digest = h.hexdigest()
        dest = Path(objects_dir) / digest[:2] / digest
        if dest.exists():
            os.unlink(tmp)
        else:
            dest.parent.mkdir(exist_ok=True)
            os.chmod(tmp, 0o444)
            os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return digest, size, None


def read_content(objects_dir: Path, src: BinaryIO) -> tuple[str, int, bytes | None]:
    """Hash a content: small ones are returned to be inlined, large ones streamed to objects/."""
    head = src.read(INLINE_MAX + 1)
    while 0 < len(head) <= INLINE_MAX:  # a pipe or an unbuffered file may return less
        more = src.read(INLINE_MAX + 1 - len(head))
        if not more:
            break
        head += more
    if len(head) <= INLINE_MAX:
        return hash_bytes(head), len(head), head
    return write_large(objects_dir, src, head)


def default_root() -> Path:
    return Path(os.environ.get(ENV_VAR) or Path.cwd() / ".pachlite")


def _busy_timeout() -> float:
    text = os.environ.get(TIMEOUT_VAR) or str(BUSY_TIMEOUT_S)
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"${TIMEOUT_VAR}={text!r} is not a number of seconds",
                           f"set it to e.g. {BUSY_TIMEOUT_S:g}, or unset it") from None


def hash_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Store:
    """One open store. Reads need no lock; every write is one `transaction()`."""

    def __init__(self, root: Path | str | None = None, *, create: bool = True):
        self.root = Path(root) if root else default_root()
        db = self.root / "pachlite.db"
        if not db.exists():
            if not create:
                raise PachliteError(f"no pachlite store at {self.root}",
                                    f"create one with 'pachlite create repo NAME' or set ${ENV_VAR}")
            (self.root / "objects").mkdir(parents=True, exist_ok=True)
        self.objects_dir = self.root / "objects"
        self.db_timeout = _busy_timeout()
        # Switching a new database to WAL takes an exclusive lock that SQLite's busy timeout does
        # not wait for; processes opening the store at once (parallel Snakemake rules) take turns.
        with open(self.root / "init.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.db = sqlite3.connect(db, timeout=self.db_timeout, isolation_level=None,
                                      check_same_thread=False)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a crash of the process never loses a committed transaction.
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=OFF")
            # A job carries 10^5 datum rows and an output commit copies 10^5 file rows: with
            # SQLite's default 2 MB page cache those spill to the WAL mid-transaction.
            self.db.execute("PRAGMA cache_size=-65536")
            self.db.execute("PRAGMA temp_store=MEMORY")
            self._init_schema()

    def _init_schema(self) -> None:
        row = None
        with contextlib.suppress(sqlite3.OperationalError):
            row = self.db.execute("SELECT value FROM meta WHERE key='format_version'").fetchone()
        if row is None:
            with self.transaction() as tx:
                tx.executescript_in_tx(_SCHEMA)
                tx.execute("INSERT OR IGNORE INTO meta VALUES('format_version', ?)",
                           (str(FORMAT_VERSION),))
        elif int(row[0]) != FORMAT_VERSION:
            raise PachliteError(
                f"store {self.root} has format version {row[0]}, this pachlite reads {FORMAT_VERSION}",
                "use the pachlite version that wrote it, or move the store aside and re-ingest")

    def close(self) -> None:
        self.db.close()

    # ---- transactions ---------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator["Tx"]:
        """An IMMEDIATE transaction: writers are serialised; one waiting too long is refused."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if "locked" in str(e) or "busy" in str(e):
                raise Conflict(f"the store {self.root} is busy: another pachlite process is writing",
                               f"wait for it to finish and run the command again (or raise "
                               f"${TIMEOUT_VAR}, now {self.db_timeout:g} s)") from None
            raise
        try:
            yield Tx(self.db)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    def query(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        return self.db.execute(sql, args).fetchall()

    def one(self, sql: str, args: tuple = ()) -> sqlite3.Row | None:
        return self.db.execute(sql, args).fetchone()

    # ---- objects ---------------------------------------------------------------------------

    def object_path(self, h: str) -> Path:
        return self.objects_dir / h[:2] / h

    def read_content(self, src: BinaryIO) -> tuple[str, int, bytes | None]:
        return read_content(self.objects_dir, src)

    def read_object(self, h: str) -> bytes:
        row = self.one("SELECT data FROM objects WHERE hash=?", (h,))
        if row is None:
            raise PachliteError(f"object {h} is missing from the store", "run 'pachlite fsck'")
        if row[0] is not None:
            return bytes(row[0])
        return self.object_path(h).read_bytes()

    def open_object(self, h: str) -> BinaryIO:
        import io
        row = self.one("SELECT data FROM objects WHERE hash=?", (h,))
        if row is None:
            raise PachliteError(f"object {h} is missing from the store", "run 'pachlite fsck'")
        if row[0] is not None:
            return io.BytesIO(row[0])
        return open(self.object_path(h), "rb")

    def materialize(self, h: str, dest: Path) -> None:
        """Write an object's content to a new file at dest (copied: user code may modify it)."""
        row = self.one("SELECT data FROM objects WHERE hash=?", (h,))
        if row is None:
            raise PachliteError(f"object {h} is missing from the store", "run 'pachlite fsck'")
        if row[0] is not None:
            with open(dest, "wb") as f:
                f.write(row[0])
        else:
            import shutil
            shutil.copyfile(self.object_path(h), dest)


class Tx:
    """The write handle of one transaction."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def execute(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        return self.db.execute(sql, args)

    def executemany(self, sql: str, rows) -> sqlite3.Cursor:
        return self.db.executemany(sql, rows)

    def executescript_in_tx(self, script: str) -> None:
        for stmt in script.split(";"):
            if stmt.strip():
                self.db.execute(stmt)

    def one(self, sql: str, args: tuple = ()) -> sqlite3.Row | None:
        return self.db.execute(sql, args).fetchone()

    def put_objects(self, objs) -> None:
        """Insert (hash, size, data-or-None) rows; identical contents are stored once."""
        # In hash order, SQLite appends to its B-tree instead of inserting at random places.
        unique = sorted({o[0]: o for o in objs}.values())
        self.db.executemany("INSERT OR IGNORE INTO objects VALUES(?,?,?)", unique)


def fsck(store: Store) -> list[str]:
    """Every problem in the store: bad object hashes, dangling references. Empty means clean."""
    problems = [f"database: {r[0]}" for r in store.db.execute("PRAGMA quick_check")
                if r[0] != "ok"]
    for h, size, data in store.db.execute("SELECT hash, size, data FROM objects"):
        if data is not None:
            if hash_bytes(data) != h or len(data) != size:
                problems.append(f"object {h}: stored content does not match its hash")
            continue
        p = store.object_path(h)
        if not p.exists():
            problems.append(f"object {h}: file {p} is missing")
            continue
        d, n = hashlib.sha256(), 0
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(CHUNK), b""):
                d.update(chunk)
                n += len(chunk)
        if d.hexdigest() != h or n != size:
            problems.append(f"object {h}: file content does not match its hash")
    checks = [
        ("SELECT DISTINCT f.hash FROM files f LEFT JOIN objects o ON o.hash=f.hash "
         "WHERE o.hash IS NULL", "file content {} is referenced but not stored"),
        ("SELECT DISTINCT f.commit_id FROM files f LEFT JOIN commits c ON c.id=f.commit_id "
         "WHERE c.id IS NULL", "files belong to missing commit {}"),
        ("SELECT c.id FROM commits c LEFT JOIN commits p ON p.id=c.parent "
         "WHERE c.parent IS NOT NULL AND p.id IS NULL", "commit {} has a missing parent"),
        ("SELECT b.repo || '@' || b.name FROM branches b LEFT JOIN commits c ON c.id=b.head "
         "WHERE b.head IS NOT NULL AND c.id IS NULL", "branch {} points at a missing commit"),
        ("SELECT c.id FROM commits c LEFT JOIN repos r ON r.name=c.repo WHERE r.name IS NULL",
         "commit {} belongs to a missing repo"),
        ("SELECT b.repo || '@' || b.name FROM branches b LEFT JOIN repos r ON r.name=b.repo "
         "WHERE r.name IS NULL", "branch {} belongs to a missing repo"),
        ("SELECT c.id FROM commits c JOIN commits p ON p.id=c.parent WHERE p.repo != c.repo",
         "commit {} has a parent in another repo"),
        ("SELECT p.commit_id || ' -> ' || p.prov_commit FROM provenance p "
         "LEFT JOIN commits c ON c.id=p.prov_commit WHERE c.id IS NULL",
         "provenance {} names a missing commit"),
        ("SELECT id FROM commits c WHERE finished IS NOT NULL AND size != "
         "(SELECT COALESCE(SUM(size),0) FROM files WHERE commit_id=c.id)",
         "commit {} size does not match its files"),
    ]
    for sql, msg in checks:
        problems += [msg.format(r[0]) for r in store.db.execute(sql)]
    return problems
