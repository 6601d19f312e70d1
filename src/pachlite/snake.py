"""Snakemake's view of the store: one head marker file per repo, kept in step with branches
moved outside Snakemake, and the pipelines `--forcerun`/`--forceall` ask to reprocess.

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


def sync_heads(repos: list[str], branch: str = "master") -> list[str]:
    """Rewrite each marker that no longer holds its repo's head (the branch was moved outside
    Snakemake: `create branch --head`, a rollback, `put file`) with the head, dated just after
    the newest marker: newer than the outputs of the rules that read it, so they run, and older
    than anything edited since the last run. So an input repo's ingest rule runs only if its
    data/ changed since (a new commit on the moved branch), and does not undo the move otherwise.
    Returns the repos whose marker changed."""
    root = store_root()
    markers = {r: root / "heads" / r for r in repos if (root / "heads" / r).exists()}
    if not markers:
        return []
    heads = read_heads(root, list(markers), branch)
    stale = [r for r, m in markers.items() if m.read_text().strip() != (heads.get(r) or "")]
    if stale:
        after = max(m.stat().st_mtime_ns for m in markers.values()) + 1000
        for r in stale:
            write_head(root, r, markers[r], branch)
            os.utime(markers[r], ns=(after, after))
    return stale


def reprocess(dag_settings, pipelines: list[str]) -> list[str]:
    """The pipelines `snakemake --forceall`, `--forcerun RULE|MARKER…` or `--force TARGET…`
    asks to run again. Snakemake tells a rule nothing of why it runs, so the Snakefile passes
    them on in PACHLITE_REPROCESS, where `pachlite run` reads them."""
    if dag_settings.forceall:
        return list(pipelines)
    named = set(dag_settings.forcerun)
    if dag_settings.forcetargets:
        named |= set(dag_settings.targets)
    paths = {Path(n) for n in named}
    return [p for p in pipelines if p in named or Path(head(p)) in paths]
