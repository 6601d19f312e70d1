"""Snakemake's view of the store: one head marker file per repo.

A rule's output is `<store>/heads/<repo>`, holding the commit id at the head of `repo@master`
after the rule ran; its inputs are the markers of its input repos. So Snakemake's file-based
scheduling follows the repo heads, and `snakemake --rulegraph` is the repo-to-stage DAG.
Imported while the Snakefile is parsed: standard library only, so a no-op run stays fast.
"""

from __future__ import annotations

import os
from pathlib import Path

from pachlite.store.branches import read_heads
from pachlite.store.location import STORE_DIR, default_root


def store_root() -> Path:
    """The store `pachlite` finds from here (store/location.py); the workflow's first rule makes
    ./.pachlite when there is none. Relative when it is here, so the rules' files read short."""
    root = default_root()
    return Path(STORE_DIR) if root == Path.cwd() / STORE_DIR else root


def head(repo: str) -> str:
    return str(store_root() / "heads" / repo)


def write_head(root: Path, repo: str, marker: str | Path, branch: str = "master") -> str:
    """Write the marker with the current head of repo@branch (empty if it has no commit)."""
    commit = read_heads(root, [repo], branch).get(repo) or ""
    p = Path(marker)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    tmp.write_text(commit + "\n")
    os.replace(tmp, p)
    return commit


def drop_stale_heads(repos: list[str], branch: str = "master") -> list[str]:
    """Delete markers that no longer match their repo's head (e.g. after `create branch --head`,
    a rollback), so Snakemake re-runs what reads them. Returns the repos whose marker went."""
    root = store_root()
    markers = {r: root / "heads" / r for r in repos if (root / "heads" / r).exists()}
    if not markers:
        return []
    heads = read_heads(root, list(markers), branch)
    stale = [r for r, m in markers.items() if m.read_text().strip() != (heads.get(r) or "")]
    for r in stale:
        markers[r].unlink()
    return stale

