"""The open store: one SQLite connection (WAL), its transactions, and the object directory.

Layout of `.pachlite/` (or `$PACHLITE_STORE`):
    pachlite.db        SQLite (WAL): the tables of schema.py
    objects/ab/<hash>  contents larger than objects.INLINE_MAX; smaller ones live in `objects`

Reads need no lock; every write is one `transaction()`, an IMMEDIATE one, so writers from several
processes take turns. The named queries of the table modules take a `Handle` for reads (the Store,
or a Tx to read inside a transaction) and a `Tx` for writes.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from pachlite.errors import Conflict, InvalidInput, PachliteError
from pachlite.store import objects, schema

BUSY_TIMEOUT_S = 30.0
ENV_VAR = "PACHLITE_STORE"
# How long a writer waits for another one before it gives up with "the store is busy".
TIMEOUT_VAR = "PACHLITE_BUSY_TIMEOUT"


def default_root() -> Path:
    return Path(os.environ.get(ENV_VAR) or Path.cwd() / ".pachlite")


def _busy_timeout() -> float:
    text = os.environ.get(TIMEOUT_VAR) or str(BUSY_TIMEOUT_S)
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"${TIMEOUT_VAR}={text!r} is not a number of seconds",
                           f"set it to e.g. {BUSY_TIMEOUT_S:g}, or unset it") from None


class Store:
    """One open store."""

    def __init__(self, root: Path | str | None = None, *, create: bool = True):
        self.root = Path(root) if root else default_root()
        db = self.root / schema.DB_FILE
        if not db.exists():
            if not create:
                raise PachliteError(f"no pachlite store at {self.root}",
                                    f"create one with 'pachlite create repo NAME' or set ${ENV_VAR}")
            # Private: the contents of every repo are in here (os.mkdir's mode, less the umask).
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            (self.root / "objects").mkdir(mode=0o700, exist_ok=True)
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
        version = schema.format_version(self.db)
        if version is None:
            with self.transaction() as tx:
                schema.create(tx.db)
        elif version != schema.FORMAT_VERSION:
            raise PachliteError(
                f"store {self.root} has format version {version}, this pachlite reads "
                f"{schema.FORMAT_VERSION}",
                "use the pachlite version that wrote it, or move the store aside and re-ingest")

    def close(self) -> None:
        self.db.close()

    # ---- transactions ---------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
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
        return objects.read_content(self.objects_dir, src)

    def read_object(self, h: str) -> bytes:
        data = self._inline_or_file(h)
        return bytes(data) if data is not None else self.object_path(h).read_bytes()

    def open_object(self, h: str) -> BinaryIO:
        data = self._inline_or_file(h)
        return io.BytesIO(data) if data is not None else open(self.object_path(h), "rb")

    def _inline_or_file(self, h: str) -> bytes | None:
        found, data = objects.lookup(self, h)
        if not found:
            raise PachliteError(f"object {h} is missing from the store", "run 'pachlite fsck'")
        return data


class Tx:
    """The write handle of one transaction."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    # Raw SQL, for tests (as Store.query).
    def execute(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        return self.db.execute(sql, args)

    def one(self, sql: str, args: tuple = ()) -> sqlite3.Row | None:
        return self.db.execute(sql, args).fetchone()

    def put_objects(self, objs: Iterable[objects.Object]) -> None:
        """Insert (hash, size, data-or-None) rows; identical contents are stored once."""
        objects.put(self, objs)


# What a read takes: the store, or a transaction to read what it has written so far.
Handle = Store | Tx
