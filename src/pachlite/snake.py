"""Snakemake's view of the store: one head marker file per repo, kept in step with branches
moved outside Snakemake; one listing marker per input repo's local folders; the pipelines
`--forcerun`/`--forceall` ask to reprocess; and Snakemake's idle timers, stopped once it is done.

A rule's output is `<store>/heads/<repo>`, holding the commit id at the head of `repo@master`
after the rule ran; its inputs are the markers of its input repos. So Snakemake's file-based
scheduling follows the repo heads, and `snakemake --rulegraph` is the repo-to-stage DAG.
Imported while the Snakefile is parsed: standard library only, so a no-op run stays fast.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
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


def sources(repo: str, paths: list[str]) -> list[str]:
    """An ingest rule's inputs for the local files and folders `repo` mirrors: a file stands for
    itself; the folders, for one marker `<store>/sources/<repo>` holding a digest of their listing
    (each file's path, size and modification time), rewritten only when that changes. So a new,
    changed or deleted file under a folder makes the rule run, as it would with every file an
    input, but Snakemake stats one file, not thousands (~0.1 ms each in its DAG). A missing path
    stays an input, so Snakemake says it is missing."""
    files = [p for p in paths if not os.path.isdir(p)]
    folders = [p for p in paths if os.path.isdir(p)]
    if not folders:
        return files
    digest = hashlib.sha256()
    for folder in folders:
        digest.update(f"{folder}\0".encode())
        for path, size, mtime in sorted(_listing(folder)):
            digest.update(f"{path}\0{size}\0{mtime}\n".encode())
    root = store_root()
    root.mkdir(mode=0o700, parents=True, exist_ok=True)  # private, as the store the first rule makes
    marker = root / "sources" / repo
    if not marker.exists() or marker.read_text() != digest.hexdigest():
        marker.parent.mkdir(exist_ok=True)
        tmp = marker.with_name(f".{repo}.tmp")
        tmp.write_text(digest.hexdigest())
        os.replace(tmp, marker)
    return [*files, str(marker)]


def _listing(folder: str) -> Iterator[tuple[str, int, int]]:
    """(path, size, mtime_ns) of every file under folder, as `put file -r` walks it (os.walk: a
    link to a folder is not followed)."""
    with os.scandir(folder) as entries:
        for e in entries:
            if e.is_dir() and not e.is_symlink():
                yield from _listing(e.path)
            elif not e.is_dir():
                st = e.stat()
                yield e.path, st.st_size, st.st_mtime_ns


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


def stop_idle_timers() -> list[threading.Timer]:
    """Cancel the re-scheduling timers Snakemake leaves behind, once its scheduler has returned
    (the Snakefile's onsuccess/onerror). After each round that selects jobs, its scheduler starts
    a threading.Timer to look again when the --max-jobs-per-timespan window (100/1s by default)
    ends; the timer is not a daemon thread, so Python waits it out before exiting: every run that
    ran a job ended a second after its last one. Only Snakemake's own timers are stopped.
    Returns them."""
    timers = [t for t in threading.enumerate() if isinstance(t, threading.Timer)
              and getattr(t.function, "__module__", "").startswith("snakemake.")]
    for t in timers:
        t.cancel()
    return timers
