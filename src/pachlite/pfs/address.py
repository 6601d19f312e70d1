"""Pachyderm's address grammar: `[project/]repo[@branch|@commit|@branch=commit][^…|~N][:/path]`.

One parser and one printer, so every command reads and shows addresses the same way and
`parse(str(a)) == a` holds for every address.

Repos and pipelines live in projects (Pachyderm 2.5+). Inside pachlite a repo is named by its
key: its name in the default project, `project/name` in another — pachd's `Repo.String()`
without the default project's prefix, so a store made before projects is the default project's
as it stands. pachctl names the project with `--project`; the `project/repo` form pachd prints
is read back too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from pachlite.errors import InvalidInput

# Pachyderm's ancestry.ValidateName: alphanumerics, underscores and dashes.
_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
DEFAULT_PROJECT = "default"
# pfs.projectNameLimit: a pipeline's worker "<project>-<pipeline>-v99" is a 63-character DNS label.
PROJECT_NAME_LIMIT = 63 - 8 - len("-v99")
# Pachyderm 2.x commit ids are UUIDv4 without dashes: 32 hex digits.
_COMMIT_ID = re.compile(r"^[0-9a-f]{32}$")
# Pachyderm's ancestry.Parse: one kind of separator, then a number or more of the same
# separator: master^, master^^, master^3, master~2 (mixing ^ and ~ is an error there too).
_ANCESTRY = re.compile(r"^(?P<ref>[^^~]+)(?:(?P<sep>[\^~])(?P<n>\d+|(?P=sep)*))?$")


def validate_name(name: str, kind: str = "repo") -> str:
    if not name or not _NAME.match(name):
        raise InvalidInput(
            f"invalid {kind} name {name!r}: only alphanumeric characters, underscores and dashes "
            "are allowed",
            f"choose a name like 'my_{kind}-1'",
        )
    return name


def validate_project(name: str) -> str:
    """pachd's Project.ValidateName: `default`, or at most 51 characters of letters, digits, '_'
    and '-' starting with a letter or digit."""
    if name == DEFAULT_PROJECT:
        return name
    if len(name) > PROJECT_NAME_LIMIT:
        raise InvalidInput(f"invalid project name {name!r}: {len(name)} characters, pachd allows "
                           f"{PROJECT_NAME_LIMIT}", f"shorten it to {PROJECT_NAME_LIMIT} or fewer")
    validate_name(name, "project")
    if not name[0].isalnum():
        raise InvalidInput(f"invalid project name {name!r}: it must start with a letter or digit",
                           f"rename it, e.g. 'p{name.lstrip('_-') or '1'}'")
    return name


def repo_key(project: str | None, name: str) -> str:
    """The key of repo (or pipeline) `name` in `project` (None: the default project)."""
    return name if project in (None, DEFAULT_PROJECT) else f"{project}/{name}"


def split_key(key: str) -> tuple[str, str]:
    """(project, name) of a repo or pipeline key."""
    project, sep, name = key.rpartition("/")
    return (project, name) if sep else (DEFAULT_PROJECT, key)


def parse_name(text: str, project: str | None = None, kind: str = "repo") -> str:
    """A repo or pipeline argument, `name` or `project/name`, in `project` (the --project flag;
    None when not given) → its key. A qualified name naming another project than --project is
    refused: which one was meant is not clear."""
    qualifier, sep, name = text.rpartition("/")
    if sep:
        validate_project(qualifier)
        if project is not None and project != qualifier:
            raise InvalidInput(f"{text!r} names project {qualifier} but --project is {project}",
                               f"drop --project, or write {name!r} alone")
        project = qualifier
    elif project is not None:
        validate_project(project)
    validate_name(name, kind)
    return repo_key(project, name)


def is_commit_id(ref: str) -> bool:
    return bool(_COMMIT_ID.match(ref))


def clean_path(path: str, where: str = "") -> str:
    """Normalise a path inside a repo to `/a/b`; refuse one that escapes the repo."""
    if "\x00" in path:
        raise InvalidInput("path contains a NUL byte", "remove it", where=where or path)
    parts: list[str] = []
    for part in path.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise InvalidInput(
                    f"path {path!r} escapes the repo",
                    "use a path inside the repo, without leading '..'",
                    where=where or None,
                )
            parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts)


@dataclass(frozen=True)
class Address:
    """A repo (its key: see above), optionally a branch and/or commit, generations back, and a
    path."""

    repo: str
    branch: str | None = None
    commit: str | None = None
    ancestry: int = 0
    path: str | None = None

    def __str__(self) -> str:
        s = self.repo
        if self.branch and self.commit:
            s += f"@{self.branch}={self.commit}"
        elif self.branch or self.commit:
            s += f"@{self.branch or self.commit}"
        if self.ancestry:
            s += f"~{self.ancestry}"
        if self.path is not None:
            s += f":{self.path}"
        return s

    def with_path(self, path: str | None) -> Address:
        return replace(self, path=path)

    @property
    def project(self) -> str:
        return split_key(self.repo)[0]


def parse(text: str, *, path_allowed: bool = True, project: str | None = None) -> Address:
    """Parse `repo@branch=commit^^:/path` and friends, the repo in `project` (the --project flag,
    None when not given) unless the address names its own; raise InvalidInput naming the fix."""
    fix = ("write it as repo@branch[:/path], repo@branch=commit or repo@commit, with ancestry as "
           "master^, master^^ or master~2 (e.g. images@master^:/a.png)")
    if not text:
        raise InvalidInput("empty address", fix)
    head, sep, path = text.partition(":")
    if sep and not path_allowed:
        raise InvalidInput(f"address {text!r} takes no path", f"drop ':{path}'")
    name, at, ref = head.partition("@")
    repo = parse_name(name, project)
    branch = commit = None
    ancestry = 0
    if at:
        m = _ANCESTRY.match(ref)
        if not m:
            raise InvalidInput(f"address {text!r} has an empty or malformed branch or commit", fix)
        ref, n = m.group("ref"), m.group("n") or ""
        if m.group("sep"):
            ancestry = int(n) if n.isdigit() else len(n) + 1
        name, eq, cid = ref.partition("=")
        if eq:
            if not is_commit_id(cid):
                raise InvalidInput(f"{cid!r} in {text!r} is not a commit id (32 hex digits)", fix)
            branch, commit = validate_name(name, "branch"), cid
        elif is_commit_id(name):
            commit = name
        else:
            branch = validate_name(name, "branch")
    return Address(repo, branch, commit, ancestry, clean_path(path, text) if sep else None)
