"""PFS: versioned repos, branches, commits and files (Pachyderm's file system), over the store.

`api.PFS` is the entry point; `info` holds what it reports; addresses (`repo@branch=commit:/path`)
are parsed in `address`; `sources` reads what `put file` uploads; `ingest` mirrors local folders
into repos for a workflow.
"""

from pachlite.pfs.api import PFS, new_id
from pachlite.pfs.info import AUTO, USER, BranchInfo, CommitInfo, FileChange, FileInfo, ProjectInfo, RepoInfo
from pachlite.pfs.sources import Source, collect_sources

__all__ = ["AUTO", "PFS", "USER", "BranchInfo", "CommitInfo", "FileChange", "FileInfo",
           "ProjectInfo", "RepoInfo", "Source", "collect_sources", "new_id"]
