"""Mirror local data into a repo: one commit when, and only when, the content differs.

This is how a workflow's `data/` folder feeds its input repos: the repo path ends up holding
exactly the given files (vanished ones are deleted, as `pachctl delete file` would), and an
unchanged folder makes no commit, so nothing downstream runs. The repo is created if missing.

A stat cache spares reading every file each time: `<store>/ingest/<key>` records, per local file,
its stat (size, mtime, ctime, inode, device) and the hash read with it. A file whose stat is the
one recorded, and whose recorded hash the branch already holds at its path, is not read again. An
edit changes its ctime, so only an edit in the very clock tick of the recorded stat could leave
the stat as it was: an entry is recorded only when its file's times are older than the sync's
start by more than a clock tick (git's "racily clean" entries), so such a file is read next time.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

from pachlite.errors import InvalidInput
from pachlite.pfs import PFS, CommitInfo, Source
from pachlite.pfs.address import Address
from pachlite.store import branches

# How much older than the sync a file's times must be for its entry to be trusted later: above
# the timestamp tick of the file system (a kernel clock tick where timestamps have nanoseconds;
# whole seconds, two on FAT, where they have none).
FINE_TICK_NS = 100_000_000
COARSE_TICK_NS = 2_000_000_000

Stat = tuple[int, int, int, int, int]  # size, mtime_ns, ctime_ns, inode, device


def sync(pfs: PFS, a: Address, sources: Sequence[Source], description: str = "") -> CommitInfo | None:
    """Make `a.path` hold exactly `sources`; return the new commit, or None if nothing changed."""
    if a.commit:
        raise InvalidInput(f"cannot sync into commit {a.commit}", f"sync into a branch: {a.repo}@master")
    pfs.create_repo(a.repo, exist_ok=True)
    branch = a.branch or "master"
    root = a.path or "/"
    head = branches.head(pfs.store, a.repo, branch)
    current = {p: (h, s) for p, h, s in pfs.files(head, root)} if head else {}
    cache_file = _cache_path(pfs.store.root, a, branch, root)
    cached = _load(cache_file)
    started = time.time_ns()
    wanted: dict[str, tuple[str, int]] = {}
    objects = []
    seen: dict[str, tuple[str, Stat, str]] = {}  # local path -> (dest, stat, hash)
    for s in sources:
        st = _stat(s.local) if s.stream is None else None  # before the read: an edit after it shows
        hit = cached.get(str(s.local)) if st is not None else None
        if isinstance(hit, list) and len(hit) == 7 and hit[0] == s.dest and tuple(hit[1:6]) == st \
                and current.get(s.dest) == (hit[6], st[0]):
            wanted[s.dest] = (hit[6], st[0])
        else:
            with (s.stream or open(s.local, "rb")) as f:
                h, size, data = pfs.store.read_content(f)
            wanted[s.dest] = (h, size)
            objects.append((h, size, data))
        if st is not None and _settled(st, started):
            seen[str(s.local)] = (s.dest, st, wanted[s.dest][0])
    if wanted == current:
        _save(cache_file, seen, cached)
        return None
    changes: dict[str, tuple[str, int] | None] = {p: None for p in current.keys() - wanted.keys()}
    changes.update({p: v for p, v in wanted.items() if current.get(p) != v})
    cid = pfs.write_commit(a.repo, branch, changes, objects, description=description, where=str(a))
    _save(cache_file, seen, cached)
    return pfs.resolve(Address(a.repo, commit=cid))


def _stat(local: str | Path) -> Stat:
    st = os.stat(local)
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev


def _settled(st: Stat, started: int) -> bool:
    """Whether the file's times are past a clock tick before the sync started: an edit since
    would then show in its ctime."""
    _, mtime, ctime, _, _ = st
    tick = COARSE_TICK_NS if mtime % 1_000_000_000 == 0 or ctime % 1_000_000_000 == 0 else FINE_TICK_NS
    return max(mtime, ctime) < started - tick


def _cache_path(store_root: Path, a: Address, branch: str, root: str) -> Path:
    key = "\0".join((a.repo, branch, root))
    return store_root / "ingest" / hashlib.sha256(key.encode()).hexdigest()[:32]


def _load(path: Path) -> dict[str, list]:
    """The recorded entries (local path -> [dest, *stat, hash]); none if unreadable, as the cache
    is only ever a shortcut."""
    try:
        with open(path, "rb") as f:
            entries = json.load(f)
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}


def _save(path: Path, seen: dict[str, tuple[str, Stat, str]], before: dict[str, list]) -> None:
    """Replace the entries, atomically and private to this user; unchanged ones are not written."""
    if len(seen) == len(before) and all(before.get(k) == [d, *st, h] for k, (d, st, h) in seen.items()):
        return
    path.parent.mkdir(mode=0o700, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({k: [d, *st, h] for k, (d, st, h) in seen.items()}, f, separators=(",", ":"))
    os.replace(tmp, path)
