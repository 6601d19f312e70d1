"""PFS: versioned repos, branches, commits and files (Pachyderm's file system), over the store.

`api.PFS` is the entry point; `info` holds what it reports; addresses (`repo@branch=commit:/path`)
are parsed in `address`; `sources` reads what `put file` uploads; `ingest` mirrors local folders
into repos for a workflow.

`from pachlite.pfs import PFS` (and the other names below) loads only what it names: a Snakefile
being parsed reads pipeline specs, which import `pfs.address`, and need not pay for the API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pachlite import lazy

# name → the module defining it (pachlite.lazy)
_EXPORTS = {
    "PFS": "api", "new_id": "api",
    **dict.fromkeys(("AUTO", "USER", "BranchInfo", "CommitInfo", "FileChange", "FileInfo", "ProjectInfo",
                     "RepoInfo"), "info"),
    "Source": "sources", "collect_sources": "sources",
}

__getattr__ = lazy.exports(__name__, _EXPORTS)

__all__ = ["AUTO", "PFS", "USER", "BranchInfo", "CommitInfo", "FileChange", "FileInfo",
           "ProjectInfo", "RepoInfo", "Source", "collect_sources", "new_id"]

if TYPE_CHECKING:
    from pachlite.pfs.api import PFS, new_id
    from pachlite.pfs.info import AUTO, USER, BranchInfo, CommitInfo, FileChange, FileInfo, ProjectInfo, RepoInfo
    from pachlite.pfs.sources import Source, collect_sources
