"""Pachyderm's address grammar: `repo[@branch|@commit|@branch=commit][^…|~N][:/path]`.

One parser and one printer, so every command reads and shows addresses the same way and
`parse(str(a)) == a` holds for every address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from pachlite.errors import InvalidInput

# Pachyderm's ancestry.ValidateName: alphanumerics, underscores and dashes.
_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
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
    """A repo, optionally a branch and/or commit, generations back, and a path."""

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


def parse(text: str, *, path_allowed: bool = True) -> Address:
    """Parse `repo@branch=commit^^:/path` and friends; raise InvalidInput naming the fix."""
    fix = ("write it as repo@branch[:/path], repo@branch=commit or repo@commit, with ancestry as "
           "master^, master^^ or master~2 (e.g. images@master^:/a.png)")
    if not text:
        raise InvalidInput("empty address", fix)
    head, sep, path = text.partition(":")
    if sep and not path_allowed:
        raise InvalidInput(f"address {text!r} takes no path", f"drop ':{path}'")
    repo, at, ref = head.partition("@")
    validate_name(repo)
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
