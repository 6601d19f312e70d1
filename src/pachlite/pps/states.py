"""The states of jobs and datums and the actions of a datum plan, named as Pachyderm names them.

Each is a `str` enum whose value is what the store records and `--raw` prints (pachd's
JOB_SUCCESS is "success" here), so a state compares equal to its text.
"""

from __future__ import annotations

import enum


class _Text(str, enum.Enum):
    # str() and format() give the value on every Python (3.11 changed mixed-in enums' str()).
    __str__ = str.__str__
    __format__ = str.__format__
    __hash__ = str.__hash__  # a member and its text are one dict key (Enum hashes the name)


class JobState(_Text):
    CREATED = "created"
    RUNNING = "running"
    SUCCESS = "success"
    FAILURE = "failure"
    UNRUNNABLE = "unrunnable"
    KILLED = "killed"


class DatumState(_Text):
    SUCCESS = "success"
    SKIPPED = "skipped"
    FAILED = "failed"
    RECOVERED = "recovered"


class Action(_Text):
    """What the plan does with a datum."""
    RUN = "run"
    SKIP = "skip"
    DELETE = "delete"
