"""Secrets (pachd's Kubernetes secrets): one private file per secret under `<store>/secrets/`.

Not a table: a secret's values must be readable by its user only, and the database is read by
whoever may read the store (a store shared for reading, a backup); files of mode 0600 in a 0700
folder are not. Each is written whole to a temporary file beside it and renamed into place, so a
crash leaves the old secret or the new one. A file holds {"name", "type", "created", "data"},
`data` mapping each key to its value in base64, as a Kubernetes Secret's `data` does.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pachlite.errors import PachliteError
from pachlite.store.db import Store

FOLDER = "secrets"


@dataclass(frozen=True)
class SecretRow:
    name: str
    type: str
    created: float
    data: dict[str, str]  # key -> base64 value


def _folder(store: Store) -> Path:
    return store.root / FOLDER


def _path(store: Store, name: str) -> Path:
    return _folder(store) / f"{name}.json"


def _not_yours(store: Store) -> PachliteError:
    return PachliteError(f"the secrets of the store at {store.root} are its owner's",
                         "only the user who created them can read them")


def get(store: Store, name: str) -> SecretRow | None:
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        return None  # not a secret's name (pps/secrets.py checks them): never a path elsewhere
    try:
        raw = json.loads(_path(store, name).read_text())
    except FileNotFoundError:
        return None
    except PermissionError:
        raise _not_yours(store) from None
    return SecretRow(raw["name"], raw["type"], raw["created"], raw["data"])


def names(store: Store) -> list[str]:
    try:
        entries = os.listdir(_folder(store))
    except FileNotFoundError:
        return []
    except PermissionError:
        raise _not_yours(store) from None
    return sorted(e[:-5] for e in entries if e.endswith(".json") and not e.startswith("."))


def put(store: Store, row: SecretRow) -> None:
    """Write a secret (atomically: a temporary file renamed over the old one)."""
    with store.plain_errors():
        folder = _folder(store)
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)  # whatever the umask
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")  # mode 0600
        try:
            with os.fdopen(fd, "w") as f:
                json.dump({"name": row.name, "type": row.type, "created": row.created,
                           "data": row.data}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, _path(store, row.name))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


def delete(store: Store, name: str) -> bool:
    """Remove a secret; False if there was none."""
    with store.plain_errors():
        try:
            os.unlink(_path(store, name))
        except FileNotFoundError:
            return False
    return True
