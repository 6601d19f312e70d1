"""Mirror local data into a repo: one commit when, and only when, the content differs.

This is how a workflow's `data/` folder feeds its input repos: the repo path ends up holding
exactly the given files (vanished ones are deleted, as `pachctl delete file` would), and an
unchanged folder makes no commit, so nothing downstream runs. The repo is created if missing.
"""

from __future__ import annotations

from collections.abc import Sequence

from pachlite.errors import InvalidInput
from pachlite.pfs import PFS, CommitInfo, Source
from pachlite.pfs.address import Address
from pachlite.store import branches


def sync(pfs: PFS, a: Address, sources: Sequence[Source], description: str = "") -> CommitInfo | None:
    """Make `a.path` hold exactly `sources`; return the new commit, or None if nothing changed."""
    if a.commit:
        raise InvalidInput(f"cannot sync into commit {a.commit}", f"sync into a branch: {a.repo}@master")
    pfs.create_repo(a.repo, exist_ok=True)
    branch = a.branch or "master"
    root = a.path or "/"
    head = branches.head(pfs.store, a.repo, branch)
    current = {p: (h, s) for p, h, s in pfs.files(head, root)} if head else {}
    wanted: dict[str, tuple[str, int]] = {}
    objects = []
    for s in sources:
        with (s.stream or open(s.local, "rb")) as f:
            h, size, data = pfs.store.read_content(f)
        wanted[s.dest] = (h, size)
        objects.append((h, size, data))
    if wanted == current:
        return None
    changes: dict[str, tuple[str, int] | None] = {p: None for p in current.keys() - wanted.keys()}
    changes.update({p: v for p, v in wanted.items() if current.get(p) != v})
    cid = pfs.write_commit(a.repo, branch, changes, objects, description=description, where=str(a))
    return pfs.resolve(Address(a.repo, commit=cid))
