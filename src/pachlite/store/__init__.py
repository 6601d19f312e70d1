"""The persistence layer: the only place that holds SQL (after Pachyderm's pfsdb and ppsdb).

    db.py         Store (the open SQLite connection, its transactions, the object directory), Tx
    location.py   where the store is: $PACHLITE_STORE, or the first .pachlite up the folder tree
    schema.py     the tables (DDL) and the store's format version
    objects.py    content-addressed objects: hashing, inline rows, large files under objects/
    projects.py   projects                  repos.py      repos (keyed project/name)
    branches.py   branch heads
    commits.py    commits, provenance       files.py      file rows of commits, change logs
    staged.py     layers of files written in chunks before a commit takes them
    pipelines.py  pipelines                 jobs.py       jobs (latest, latest successful, ...)
    datums.py     datum records of jobs     check.py      fsck (the consistency check), gc
    branch_links.py  branch triggers and branch provenance

Each table module has typed rows (NamedTuples built by column name) and named queries that take
a `Handle` (the Store, or a Tx) to read and a `Tx` to write. Where a job handles 10^5 rows at once
(file lists, datum records) a query takes or returns plain tuples instead, and says so.

`from pachlite.store import Store` (and the other names below) loads only what it names:
Snakemake's view of the store (snake.py) imports `store.branches` while a Snakefile is parsed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pachlite import lazy

# name → the module defining it (pachlite.lazy)
_EXPORTS = {
    "Store": "db", "Tx": "db", "Handle": "db",
    "default_root": "location", "find_root": "location", "ENV_VAR": "location",
    "TIMEOUT_VAR": "db", "BUSY_TIMEOUT_S": "db",
    "FORMAT_VERSION": "schema",
    "INLINE_MAX": "objects", "CHUNK": "objects", "hash_bytes": "objects",
    "read_content": "objects", "write_large": "objects", "copy_object": "objects",
    "CorruptObject": "objects",
    "fsck": "check", "gc": "check",
}

__getattr__ = lazy.exports(__name__, _EXPORTS)

__all__ = ["BUSY_TIMEOUT_S", "CHUNK", "ENV_VAR", "FORMAT_VERSION", "INLINE_MAX", "TIMEOUT_VAR",
           "CorruptObject", "Handle", "Store", "Tx", "copy_object", "default_root", "find_root", "fsck", "gc",
           "hash_bytes", "read_content", "write_large"]

if TYPE_CHECKING:
    from pachlite.store.check import fsck, gc
    from pachlite.store.db import BUSY_TIMEOUT_S, TIMEOUT_VAR, Handle, Store, Tx
    from pachlite.store.location import ENV_VAR, default_root, find_root
    from pachlite.store.objects import (
        CHUNK,
        INLINE_MAX,
        CorruptObject,
        copy_object,
        hash_bytes,
        read_content,
        write_large,
    )
    from pachlite.store.schema import FORMAT_VERSION
