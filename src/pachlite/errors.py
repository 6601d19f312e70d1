"""The one user-facing error type: caught once in the CLI, printed as one line, exit status 1.

A message names the thing (file, repo, commit, spec field), the problem, and the fix, so a user
never needs a traceback to know what to do next.
"""

from __future__ import annotations


class PachliteError(Exception):
    """What is wrong and how to fix it."""

    def __init__(self, problem: str, fix: str | None = None, where: str | None = None):
        self.problem = problem
        self.fix = fix
        self.where = where
        super().__init__(str(self))

    def __str__(self) -> str:
        head = f"{self.where}: {self.problem}" if self.where else self.problem
        return f"{head}; {self.fix}" if self.fix else head


class NotFound(PachliteError):
    """An unknown repo, branch, commit, file, pipeline, job or datum."""


class InvalidInput(PachliteError):
    """A malformed name, address, path, file, spec or config."""


class Conflict(PachliteError):
    """The store is busy (another writer) or a state forbids the operation."""


class SpecError(InvalidInput):
    """A pipeline spec that Pachyderm would reject."""
