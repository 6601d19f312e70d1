"""The `triggers` and `branch_provenance` tables: what a branch follows (Pachyderm's
BranchInfo.trigger and BranchInfo.direct_provenance), set by `create branch --trigger/--provenance`."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from pachlite.store.db import Handle, Tx


class TriggerRow(NamedTuple):
    repo: str
    branch: str      # the branch the trigger moves
    on: str          # the branch of the same repo it follows (pfs.Trigger.branch)
    size: str        # e.g. "1MB"; "" for no size condition
    commits: int     # 0 for no commits condition
    all: bool        # every condition must hold, not any


_COLS = "repo, branch, on_branch, size, commits, all_conditions"


def trigger(s: Handle, repo: str, branch: str) -> TriggerRow | None:
    r = s.db.execute(f"SELECT {_COLS} FROM triggers WHERE repo=? AND branch=?",
                     (repo, branch)).fetchone()
    return TriggerRow(*r[:5], bool(r[5])) if r else None


def triggers(s: Handle, repo: str) -> list[TriggerRow]:
    return [TriggerRow(*r[:5], bool(r[5])) for r in s.db.execute(
        f"SELECT {_COLS} FROM triggers WHERE repo=? ORDER BY branch", (repo,))]


def set_trigger(tx: Tx, t: TriggerRow | None, repo: str, branch: str) -> None:
    """Give repo@branch the trigger t (None removes it)."""
    tx.db.execute("DELETE FROM triggers WHERE repo=? AND branch=?", (repo, branch))
    if t is not None:
        tx.db.execute(f"INSERT INTO triggers({_COLS}) VALUES(?,?,?,?,?,?)", tuple(t))


def provenance(s: Handle, repo: str, branch: str) -> list[tuple[str, str]]:
    """The (repo, branch) pairs repo@branch has as direct provenance."""
    return [tuple(r) for r in s.db.execute(
        "SELECT prov_repo, prov_branch FROM branch_provenance WHERE repo=? AND branch=? "
        "ORDER BY prov_repo, prov_branch", (repo, branch))]


def subvenance(s: Handle, repo: str, branch: str) -> list[tuple[str, str]]:
    """The (repo, branch) pairs that have repo@branch as direct provenance."""
    return [tuple(r) for r in s.db.execute(
        "SELECT repo, branch FROM branch_provenance WHERE prov_repo=? AND prov_branch=? "
        "ORDER BY repo, branch", (repo, branch))]


def set_provenance(tx: Tx, repo: str, branch: str, prov: list[tuple[str, str]]) -> None:
    tx.db.execute("DELETE FROM branch_provenance WHERE repo=? AND branch=?", (repo, branch))
    tx.db.executemany("INSERT INTO branch_provenance VALUES(?,?,?,?)",
                      [(repo, branch, r, b) for r, b in prov])


def delete_branch(tx: Tx, repo: str, branch: str) -> None:
    """Forget what a deleted branch followed, and what followed it."""
    tx.db.execute("DELETE FROM triggers WHERE repo=? AND (branch=? OR on_branch=?)",
                  (repo, branch, branch))
    tx.db.execute("DELETE FROM branch_provenance WHERE (repo=? AND branch=?) OR "
                  "(prov_repo=? AND prov_branch=?)", (repo, branch, repo, branch))


def delete_repo(tx: Tx, repo: str) -> None:
    tx.db.execute("DELETE FROM triggers WHERE repo=?", (repo,))
    tx.db.execute("DELETE FROM branch_provenance WHERE repo=? OR prov_repo=?", (repo, repo))
