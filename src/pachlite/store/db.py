"""The open store: one SQLite connection (WAL), its transactions, a reader, and the objects.

Layout of `.pachlite/` (or `$PACHLITE_STORE`; location.py finds it):
    pachlite.db        SQLite (WAL): the tables of schema.py
    objects/ab/<hash>  contents larger than objects.INLINE_MAX; smaller ones live in `objects`

Reads need no lock; every write is one `transaction()`, an IMMEDIATE one, so writers from several
processes take turns. The named queries of the table modules take a `Handle` for reads (the Store,
its `reader()`, or a Tx to read inside a transaction) and a `Tx` for writes. A store this user may not write is
opened read-only: reads work, a write says so in one line. A full disk is reported as such
(DiskFull), not as damage.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import itertools
import os
import sqlite3
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from pachlite.errors import Conflict, InvalidInput, NotFound, PachliteError
from pachlite.store import objects, schema
from pachlite.store.location import default_root, find_root, not_found_message

# Rows one INSERT statement writes (Tx.insert_rows). Python's sqlite3 lets go of the GIL at each
# step of a statement and takes it back after: at one row a step, a job's records writer waits
# for the GIL once a row while the job's other threads hold it (at 10^6 datums, many rows a step
# took the job's process from 78.6 to 68.4 s of CPU). A statement also stays within 999
# parameters, the limit of SQLite before 3.32, which a Python may still be linked with.
ROWS_PER_STATEMENT = 256
MAX_PARAMETERS = 999
BUSY_TIMEOUT_S = 30.0
# How long a writer waits for another one before it gives up with "the store is busy".
TIMEOUT_VAR = "PACHLITE_BUSY_TIMEOUT"


def _busy_timeout() -> float:
    text = os.environ.get(TIMEOUT_VAR) or str(BUSY_TIMEOUT_S)
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"${TIMEOUT_VAR}={text!r} is not a number of seconds",
                           f"set it to e.g. {BUSY_TIMEOUT_S:g}, or unset it") from None


class DiskFull(PachliteError):
    """The disk holding the store has no room left: nothing is damaged."""


class ReadOnly(PachliteError):
    """A write to a store this user may only read."""


def _code(e: BaseException) -> int | None:
    """SQLite's primary result code of an error (SQLITE_FULL, SQLITE_READONLY, ...)."""
    code = getattr(e, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


class Store:
    """One open store: read-write, or read-only when this user may not write it."""

    def __init__(self, root: Path | str | None = None, *, create: bool = True,
                 read_only: bool | None = None):
        """The store at root (default: the one found from the current folder, see location.py).
        With create=False a missing store is an error, and nothing is made on disk."""
        found = Path(root) if root else find_root()
        if found is None and not create:
            raise NotFound(*not_found_message(None))
        self.root = found or default_root()
        self.objects_dir = self.root / "objects"
        self.read_only = bool(read_only)
        db = self.root / schema.DB_FILE
        if not db.exists():
            self._check_no_orphan_objects()
            if not create:
                raise NotFound(*not_found_message(self.root))
            with self.plain_errors():
                # Private: the contents of every repo are in here (os.mkdir's mode, less the umask).
                self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
                self.objects_dir.mkdir(mode=0o700, exist_ok=True)
        # None: decided by the permissions of the folder and the database (a backup on a
        # read-only disk, or another user's store shared for reading).
        self.read_only = read_only if read_only is not None else not (
            os.access(self.root, os.W_OK) and (not db.exists() or os.access(db, os.W_OK)))
        self.db_timeout = _busy_timeout()
        self._reader: Reader | None = None
        with self.plain_errors():
            if self.read_only:
                self.db = self._connect_read_only(db)
            else:
                self.db = self._connect(db)
            self._init_schema()

    def _check_no_orphan_objects(self) -> None:
        """A store whose database is gone but whose objects are there must not silently become
        a new empty store beside them."""
        try:
            with os.scandir(self.objects_dir) as it:
                orphaned = any(True for _ in it)
        except (FileNotFoundError, NotADirectoryError):
            return
        if orphaned:
            raise PachliteError(
                f"the store at {self.root} has objects but no database "
                f"({schema.DB_FILE}): it was deleted or moved",
                f"restore {schema.DB_FILE} from a backup, or move the folder aside to start anew")

    def _connect(self, db: Path) -> sqlite3.Connection:
        # Switching a new database to WAL takes an exclusive lock that SQLite's busy timeout does
        # not wait for; processes opening the store at once (parallel Snakemake rules) take turns.
        with open(self.root / "init.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            conn = sqlite3.connect(db, timeout=self.db_timeout, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a crash of the process never loses a committed transaction.
            conn.execute("PRAGMA synchronous=NORMAL")
            self._tune(conn)
            return conn

    def _connect_read_only(self, db: Path) -> sqlite3.Connection:
        uri = f"file:{urllib.parse.quote(str(db.absolute()))}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=self.db_timeout, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        except sqlite3.OperationalError:
            # A WAL database whose -shm file is gone and cannot be made in a folder we may not
            # write: only as an immutable file can SQLite read it (its last checkpointed state,
            # which is all of it once its writer closed it).
            conn.close()
            conn = sqlite3.connect(uri + "&immutable=1", uri=True, isolation_level=None,
                                   check_same_thread=False)
        conn.row_factory = sqlite3.Row
        self._tune(conn)
        return conn

    @staticmethod
    def _tune(conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA foreign_keys=OFF")
        # A job carries 10^5 datum rows and an output commit copies 10^5 file rows: with
        # SQLite's default 2 MB page cache those spill to the WAL mid-transaction.
        conn.execute("PRAGMA cache_size=-65536")
        conn.execute("PRAGMA temp_store=MEMORY")

    def _init_schema(self) -> None:
        version = schema.format_version(self.db)
        if version == schema.FORMAT_VERSION:
            return
        if version is not None and version not in schema.MIGRATIONS:
            raise PachliteError(
                f"store {self.root} has format version {version}, this pachlite reads "
                f"{schema.FORMAT_VERSION}",
                "use the pachlite version that wrote it, or move the store aside and re-ingest")
        if self.read_only:
            raise ReadOnly(f"the store at {self.root} has format version {version} and is "
                           f"read-only, so it cannot be upgraded to {schema.FORMAT_VERSION}",
                           "open it once where you may write it, or use the pachlite version "
                           "that wrote it")
        with self.transaction() as tx:
            # Another process may have made or upgraded it while we waited for the write lock.
            version = schema.format_version(tx.db)
            if version is None:
                schema.create(tx.db)
            elif version != schema.FORMAT_VERSION:
                schema.migrate(tx.db, version)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.db.close()
            self._reader = None
        self.db.close()

    def reader(self) -> Store | Reader:
        """A second connection, for reads that must not wait on this one's writes: a job's
        workers ask for their inputs while its datum records are written, and on one connection
        every read waits for the write in progress (as long as a worker's next batch lasts). In
        WAL mode it reads the last commit."""
        if self.read_only:  # nothing writes through this one
            return self
        if self._reader is None:
            with self.plain_errors():
                conn = sqlite3.connect(self.root / schema.DB_FILE, timeout=self.db_timeout,
                                       isolation_level=None, check_same_thread=False)
                self._tune(conn)
            self._reader = Reader(conn)
        return self._reader

    # ---- errors ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def plain_errors(self) -> Iterator[None]:
        """Say "the disk is full" or "read-only" as such, not as a damaged store."""
        try:
            yield
        except sqlite3.Error as e:
            if _code(e) == sqlite3.SQLITE_FULL:
                raise self._disk_full() from None
            if _code(e) == sqlite3.SQLITE_READONLY:
                raise self._read_only() from None
            raise
        except OSError as e:
            if e.errno == errno.ENOSPC:
                raise self._disk_full() from None
            if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM) and self.read_only:
                raise self._read_only() from None
            raise

    def _disk_full(self) -> DiskFull:
        return DiskFull(f"the disk holding {self.root} is full",
                        "free space and run the command again (nothing was changed)")

    def _read_only(self) -> ReadOnly:
        return ReadOnly(f"the store at {self.root} is read-only",
                        "it can be read but not changed; ask its owner, or copy it where you may "
                        "write")

    # ---- transactions ---------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
        """An IMMEDIATE transaction: writers are serialised; one waiting too long is refused."""
        if self.read_only:
            raise self._read_only()
        with self.plain_errors():
            try:
                self.db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as e:
                if _code(e) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                    raise Conflict(f"the store {self.root} is busy: another pachlite process is "
                                   "writing", f"wait for it to finish and run the command again "
                                   f"(or raise ${TIMEOUT_VAR}, now {self.db_timeout:g} s)") from None
                raise
            try:
                yield Tx(self)
                self.db.execute("COMMIT")
            except BaseException:
                # SQLite rolls back by itself after some errors (a full disk among them).
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise

    # Raw SQL, for tests and for looking into a store by hand; pachlite itself uses the named
    # queries of the table modules.
    def query(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        return self.db.execute(sql, args).fetchall()

    def one(self, sql: str, args: tuple = ()) -> sqlite3.Row | None:
        return self.db.execute(sql, args).fetchone()

    # ---- objects ---------------------------------------------------------------------------

    def object_path(self, h: str) -> Path:
        return objects.path(self.objects_dir, h)

    def read_content(self, src: BinaryIO) -> objects.Object:
        if self.read_only:
            raise self._read_only()
        with self.plain_errors():
            return objects.read_content(self.objects_dir, src)

    def read_object(self, h: str, where: str | None = None) -> bytes:
        """An object's content, checked against its hash (`where`: what holds it, for the
        message if it is damaged)."""
        with self.open_object(h, where) as f:
            return f.read()

    def open_object(self, h: str, where: str | None = None) -> BinaryIO:
        """An object's content to read, checked against its hash: an inline one now, a file as
        it is read (its last read raises CorruptObject)."""
        found, data = objects.lookup(self, h)
        if not found:
            raise PachliteError(f"object {h} is missing from the store", "run 'pachlite fsck'",
                                where=where)
        if data is not None:
            return io.BytesIO(objects.check(h, data, where))
        try:
            return objects.open_file(self.objects_dir, h, where)
        except FileNotFoundError:
            raise PachliteError(f"the file of object {h} is missing from {self.objects_dir}",
                                "run 'pachlite fsck'", where=where) from None


    def open_written(self, h: str) -> BinaryIO:
        """A large object read_content has just written, before any row names it."""
        return objects.open_file(self.objects_dir, h)


class Tx:
    """The write handle of one transaction."""

    def __init__(self, store: Store):
        self.store = store
        self.db = store.db

    # Raw SQL, for tests (as Store.query).
    def execute(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        return self.db.execute(sql, args)

    def one(self, sql: str, args: tuple = ()) -> sqlite3.Row | None:
        return self.db.execute(sql, args).fetchone()

    def put_objects(self, objs: Iterable[objects.Object]) -> None:
        """Insert (hash, size, data-or-None) rows; identical contents are stored once, and a
        damaged copy is replaced."""
        objects.put(self, objs, self.store.objects_dir)

    def insert_rows(self, head: str, rows: Sequence[tuple], tail: str = "") -> int:
        """`head` ("INSERT ... VALUES") for each of `rows`, in their order, as many to a statement
        as ROWS_PER_STATEMENT and MAX_PARAMETERS allow, then `tail` (an ON CONFLICT clause) → how
        many rows were changed."""
        if not rows:
            return 0
        width = len(rows[0])
        one = "(" + ",".join("?" * width) + ")"
        k = max(1, min(ROWS_PER_STATEMENT, MAX_PARAMETERS // width))
        full = len(rows) // k * k
        flat = itertools.chain.from_iterable
        changed = self.db.executemany(f"{head}{','.join([one] * k)}{tail}",
                                      [tuple(flat(rows[i:i + k])) for i in range(0, full, k)]).rowcount
        if full < len(rows):
            changed += self.db.executemany(f"{head}{one}{tail}", rows[full:]).rowcount
        return changed


class Reader:
    """Store.reader()'s handle: the named queries read through its `db`."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db


# What a read takes: the store, its reader, or a transaction to read what it has written so far.
Handle = Store | Tx | Reader
