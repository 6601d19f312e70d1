"""The `branches` table: a branch is a name in a repo pointing at its head commit (or at none).

`read_heads` is what Snakemake's view of the store (snake.py) calls while the Snakefile is
parsed: it opens the database read-only, and this module imports only the standard library.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from pachlite.store.schema import DB_FILE

if TYPE_CHECKING:
    from pachlite.store.db import Handle, Tx


class BranchRow(NamedTuple):
    repo: str
    name: str
    head: str | None  # None: the branch has no commit yet


def get(s: Handle, repo: str, name: str) -> BranchRow | None:
    row = s.db.execute("SELECT repo, name, head FROM branches WHERE repo=? AND name=?",
                       (repo, name)).fetchone()
    return BranchRow._make(row) if row else None


def head(s: Handle, repo: str, name: str) -> str | None:
    """The head commit of repo@name; None when the branch has none, or does not exist."""
    row = s.db.execute("SELECT head FROM branches WHERE repo=? AND name=?", (repo, name)).fetchone()
    return row[0] if row else None


def list_branches(s: Handle, repo: str) -> list[BranchRow]:
    """A repo's branches, by name."""
    return [BranchRow._make(r) for r in s.db.execute(
        "SELECT repo, name, head FROM branches WHERE repo=? ORDER BY name", (repo,))]


def create(tx: Tx, repo: str, name: str) -> None:
    """A branch with no head; an existing branch keeps its own."""
    tx.db.execute("INSERT OR IGNORE INTO branches VALUES(?,?,NULL)", (repo, name))


def set_head(tx: Tx, repo: str, name: str, head: str | None) -> None:
    """Point a branch (created if missing) at a commit."""
    tx.db.execute("INSERT OR REPLACE INTO branches VALUES(?,?,?)", (repo, name, head))


def delete(tx: Tx, repo: str, name: str) -> None:
    """Remove a branch; its commits stay."""
    tx.db.execute("DELETE FROM branches WHERE repo=? AND name=?", (repo, name))


def read_heads(root: Path, repos: list[str], branch: str = "master") -> dict[str, str | None]:
    """repo → head of repo@branch, for the repos that have that branch, read without opening the
    store (no lock, no schema check: nothing is written); {} when there is no store yet."""
    db = Path(root) / DB_FILE
    if not db.exists():
        return {}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = con.execute(
            f"SELECT repo, head FROM branches WHERE name=? AND repo IN ({','.join('?' * len(repos))})",
            (branch, *repos)).fetchall()
    finally:
        con.close()
    return dict(rows)
