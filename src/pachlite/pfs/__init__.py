"""PFS: versioned repos, branches, commits and files (Pachyderm's file system), over the store.

`api.PFS` is the entry point; addresses (`repo@branch=commit:/path`) are parsed in `address`;
`ingest` mirrors local folders into repos for a workflow.
"""

from pachlite.pfs.api import (AUTO, PFS, USER, BranchInfo, CommitInfo, FileChange, FileInfo,
                              RepoInfo, Source, collect_sources, new_id)

__all__ = ["AUTO", "PFS", "USER", "BranchInfo", "CommitInfo", "FileChange", "FileInfo",
           "RepoInfo", "Source", "collect_sources", "new_id"]
