"""What PFS reports: pachctl's RepoInfo, BranchInfo, CommitInfo, FileInfo and file changes."""

from __future__ import annotations

from dataclasses import dataclass

from pachlite.pfs.address import DEFAULT_PROJECT, Address, repo_key

USER, AUTO = "USER", "AUTO"  # a commit's origin: put by a user, or written by a job


@dataclass(frozen=True)
class ProjectInfo:
    name: str
    created: float
    description: str


@dataclass(frozen=True)
class RepoInfo:
    name: str        # in its project (`key` names it across projects)
    created: float
    size: int
    description: str
    kind: str
    branches: tuple[str, ...]
    project: str = DEFAULT_PROJECT

    @property
    def key(self) -> str:
        return repo_key(self.project, self.name)


@dataclass(frozen=True)
class BranchInfo:
    repo: str
    name: str
    head: str | None  # its head commit's id (its commit set)


@dataclass(frozen=True)
class CommitInfo:
    """A commit as pachctl shows it: `id` is its commit set's id (the global id), `key` the
    store's key for it (equal to id for a user's commit), which file reads use."""
    repo: str
    branch: str | None
    id: str
    parent: str | None      # the parent's id (its commit set)
    origin: str
    description: str
    started: float
    finished: float | None
    size: int
    provenance: tuple[tuple[str, str | None, str], ...] = ()  # (repo, branch, commit id)
    key: str = ""
    parent_key: str | None = None
    error: str = ""         # a job's output commit finished with its failure

    @property
    def address(self) -> str:
        return str(Address(self.repo, self.branch, self.id))


@dataclass(frozen=True)
class FileInfo:
    path: str
    type: str  # "file" | "dir"
    size: int
    hash: str | None = None
    commit: str = ""


@dataclass(frozen=True)
class FileChange:
    status: str  # "added" | "deleted" | "modified"
    path: str
    size: int
    old_size: int | None = None
