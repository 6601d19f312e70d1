"""Pachyderm glob patterns: which paths of a commit a pfs input's glob matches.

Pachyderm 2.x matches globs with github.com/pachyderm/ohmyglob, which compiles a glob to one
anchored regular expression (separator `/`); this module compiles the same syntax to the same
regular expressions for Python's `re`:

    *  [^/]*          **  .*            ?  [^/]           [abc] [!a-c] [^a-c]  classes
    {a,b}             alternatives (not captured)
    (a|b) @(a|b)      exactly one, captured      *(…) +(…) ?(…)  zero+/one+/optional, captured
    !(a|b)            anything in one path segment except those, captured (`!(**)` matches nothing)
    \\c               a literal c

Every `( )` is a capture group, numbered by its `(` from the left, for `joinOn`/`groupBy`
templates ($1, ${1}, $0 = the whole path). Like Pachyderm, a pattern is cleaned to a leading `/`
and matched against every path of the commit: each file and each directory implied by the file
paths. Directories are spelled as Pachyderm 2.x spells them in FileInfo paths, with a trailing
`/` (`/dir1/`; the root is `/`); the trailing `/` is dropped before matching, and only the
pattern `/` matches the root. Unlike ohmyglob, which silently accepts an unclosed `(` or `{` and
reads a stray `)`, `}` or `]` as text (none of which can occur in a Pachyderm path), these are
rejected with InvalidInput.
"""

from __future__ import annotations

import functools
import posixpath
import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from pachlite.errors import InvalidInput

# Markers that ohmyglob's compiler places in the regex text to scope `!( )` (see _negations).
_NEG_END = "\x00"  # where a negation's alternatives end
_BOUND = "\x01"  # after each *, ** and literal text: a limit to how far a negation may reach

_GROUP_REF = re.compile(r"\$(?:\{([0-9]+)\}|([0-9]+))")  # $1 or ${1} in a joinOn/groupBy template
_EXTGLOB = "@!+*?"  # a quantifier right before "(" opens an extglob group
_CLOSER = {"{": "}", "(": ")"}


@dataclass(frozen=True)
class Glob:
    """A compiled, cleaned glob pattern."""

    pattern: str
    regex: re.Pattern

    def match(self, path: str) -> tuple[str, ...] | None:
        """The capture groups ('' for a group that took no part) if path matches, else None."""
        if path == "/":
            return () if self.pattern == "/" else None
        m = self.regex.match(path.rstrip("/"))
        return None if m is None else m.groups("")


@dataclass(slots=True)  # not frozen: one per datum, and a frozen __init__ costs 4x as much
class GlobMatch:
    """One datum's worth of a commit: a matched file, or a matched directory and its subtree."""

    path: str  # a file "/a/b", a directory "/a/" (trailing slash), or the root "/"
    is_dir: bool
    groups: tuple[str, ...]
    files: tuple[str, ...]  # the file itself, or every file under the directory


def clean_glob(pattern: str) -> str:
    """Pachyderm's CleanPath: path.Clean, then exactly one leading `/` and no trailing `/`."""
    cleaned = posixpath.normpath(pattern)
    return "/" if cleaned == "." else "/" + cleaned.strip("/")


@functools.lru_cache(maxsize=512)
def compile_glob(pattern: str) -> Glob:
    """Compile a glob (cleaned first); raises InvalidInput naming the pattern, problem and fix."""
    cleaned = clean_glob(pattern)
    parser = _Parser(pattern, cleaned)
    regex = _negations(_regex(parser.parse()))
    try:
        return Glob(cleaned, re.compile(r"\A" + regex + r"\Z"))
    except re.error as e:  # e.g. a backwards range [z-a]
        raise parser.error(f"{e.msg} in a character class",
                           "write ranges low to high, e.g. [a-z]") from None


def implied_paths(files: Iterable[str]) -> list[str]:
    """Every file path plus every ancestor directory ("/dir/", and the root "/"), sorted."""
    out: list[str] = []
    dirs: set[str] = set()
    previous = None
    for f in sorted(files):
        if f == previous:
            continue
        previous = f
        # A directory sorts right before the first file under it, so it goes in as that file
        # comes: one pass, no second sort.
        new = []
        i = f.rfind("/")
        while i >= 0:
            d = f[: i + 1]
            if d in dirs:  # and so are its ancestors
                break
            dirs.add(d)
            new.append(d)
            i = f.rfind("/", 0, i)
        out.extend(reversed(new))
        out.append(f)
    return out


def glob_paths(pattern: str, files: Sequence[str]) -> list[GlobMatch]:
    """What a pfs input's glob makes of a commit's files (absolute paths): one match per datum,
    in Pachyderm's order (sorted by path, directories with their trailing slash)."""
    glob = compile_glob(pattern)
    files = sorted(files)
    if glob.pattern == "/":  # the whole commit is one datum
        return [GlobMatch("/", True, (), tuple(files))] if files else []
    match = glob.regex.match
    # A commit of top-level files only (each path has one "/", none twice: sorted, a repeat is
    # its neighbour) implies no directory but the root: its matches are files, made in one
    # comprehension (at 10^6 files, 1.4-1.5 s instead of 1.8 s through the loop below: a job's
    # start, while its workers wait).
    if "".join(files).count("/") == len(files) and not any(map(str.__eq__, files, files[1:])):
        return [GlobMatch(path, False, m.groups(""), (path,)) for path in files
                if path != "/" and (m := match(path)) is not None]
    out = []
    for path in implied_paths(files):
        if path == "/":
            continue
        is_dir = path[-1] == "/"
        m = match(path[:-1] if is_dir else path)
        if m is None:
            continue
        groups = m.groups("")
        if is_dir:
            # Files under "/d/" sort in ["/d/", "/d0"): "0" follows "/" in byte order.
            lo = bisect_left(files, path)
            hi = bisect_left(files, path[:-1] + "0", lo)
            out.append(GlobMatch(path, True, groups, tuple(files[lo:hi])))
        else:
            out.append(GlobMatch(path, False, groups, (path,)))
    return out


def glob_rows(pattern: str, rows: Iterable[tuple[str, str, int]]
              ) -> Iterator[tuple[str, bool, int, str | None]]:
    """glob_paths() of a commit's (path, hash, size) rows read in path order, as (path, is_dir,
    size, hash or None) made as they come (`glob file` of 10^6 files holds no list of them).
    A directory sorts right before its first file and its files follow it, so the folders of
    the current path are all that is held, and a matched folder's size is whole when it closes;
    matches inside a matched folder wait for it (they follow it in the order)."""
    glob = compile_glob(pattern)
    if glob.pattern == "/":  # the whole commit
        total, any_row = 0, False
        for _, _, n in rows:
            total, any_row = total + n, True
        if any_row:
            yield "/", True, total, None
        return
    match = glob.regex.match
    # The folders of the current path, outermost first: [path, matched, size, waiting matches].
    chain: list[list] = []
    out: list = []  # matches ready to be given (those of no open matched folder)

    def waiting() -> list:  # where a match goes: the innermost open matched folder's, or out
        return next((f[3] for f in reversed(chain) if f[1]), out)

    def close(frame: list) -> None:
        if frame[1]:
            into = waiting()
            into.append((frame[0], True, frame[2], None))
            into.extend(frame[3])

    for path, h, n in rows:
        while chain and not path.startswith(chain[-1][0]):
            close(chain.pop())
        i = len(chain[-1][0]) if chain else 1
        while (j := path.find("/", i)) >= 0:  # the folders it opens
            d = path[:j + 1]
            chain.append([d, match(d[:-1]) is not None, 0, []])
            i = j + 1
        if match(path) is not None:
            waiting().append((path, False, n, h))
        for f in chain:
            if f[1]:
                f[2] += n
        if out:
            yield from out
            out.clear()
    while chain:
        close(chain.pop())
    yield from out


def expand_template(template: str, groups: tuple[str, ...], whole: str) -> str:
    """A joinOn/groupBy value, as ohmyglob's Glob.Replace: $n or ${n} is capture group n ($0 the
    whole matched path, a group that does not exist is ''), $$ is $, any other $ is literal."""
    match = (whole, *groups)
    out = []
    i = 0
    while (j := template.find("$", i)) >= 0:
        out.append(template[i:j])
        if template.startswith("$$", j):
            out.append("$")
            i = j + 2
            continue
        m = _GROUP_REF.match(template, j)
        if m is None:
            out.append("$")
            i = j + 1
            continue
        digits = m.group(1) or m.group(2)
        # ohmyglob takes no leading zeros ($01): like an absent group, it yields nothing.
        if digits == "0" or digits[0] != "0":
            out.append(match[int(digits)] if int(digits) < len(match) else "")
        i = m.end()
    out.append(template[i:])
    return "".join(out)


# --- parsing: ohmyglob's syntax into a small tree -------------------------------------------
# A sequence is a list of nodes; a node is ("text", str) | ("any",) | ("super",) | ("single",)
# | ("class", regex) | ("anyof", [seq, ...]) | ("capture", quantifier, [seq, ...]).


class _Parser:
    def __init__(self, original: str, cleaned: str):
        self.original = original
        self.s = cleaned
        self.i = 0

    def error(self, problem: str, fix: str) -> InvalidInput:
        where = f"glob '{self.original}'"
        if self.s != self.original:  # positions count in the cleaned pattern
            where += f" (cleaned: '{self.s}')"
        return InvalidInput(problem, fix, where=where)

    def parse(self) -> list:
        if any(c < " " for c in self.s):
            raise self.error("the pattern contains a control character",
                             "remove it; Pachyderm paths are printable text")
        seq = self._seq(None)
        if self.i < len(self.s):  # _seq stops early only at a closer without an opener
            raise self._unbalanced()
        return seq

    def _unbalanced(self) -> InvalidInput:
        c = self.s[self.i]
        return self.error(f"unbalanced {c!r} at position {self.i}",
                          f"remove it, or escape it as '\\{c}'")

    def _seq(self, group: str | None) -> list:
        """Nodes up to the end, or up to the separator or closer of the innermost group."""
        s, nodes, text = self.s, [], []
        while self.i < len(s):
            c = s[self.i]
            nxt = s[self.i + 1] if self.i + 1 < len(s) else ""
            if c == "\\":
                if not nxt:
                    raise self.error("the pattern ends with a lone '\\'",
                                     "remove it, or write '\\\\' for a backslash")
                text.append(nxt)
                self.i += 2
                continue
            if c in "})]" or (group == "{" and c == ",") or (group == "(" and c == "|"):
                break
            if c in "*?[{(" or (c in _EXTGLOB and nxt == "("):
                if text:
                    nodes.append(("text", "".join(text)))
                    text = []
                nodes.append(self._special(c, nxt))
                continue
            text.append(c)
            self.i += 1
        if text:
            nodes.append(("text", "".join(text)))
        return nodes

    def _special(self, c: str, nxt: str) -> tuple:
        if c in _EXTGLOB and nxt == "(":
            self.i += 1
            return self._group("(", c)
        if c == "(":
            return self._group("(", "@")
        if c == "{":
            return self._group("{", None)
        if c == "[":
            return self._class()
        self.i += 1
        if c == "?":
            return ("single",)
        # ohmyglob reads "**(" as "*" then the group "*(".
        if nxt == "*" and not self.s.startswith("(", self.i + 1):
            self.i += 1
            return ("super",)
        return ("any",)

    def _group(self, opener: str, quantifier: str | None) -> tuple:
        start = self.i
        self.i += 1
        alternatives = [self._seq(opener)]
        closer = _CLOSER[opener]
        while self.i < len(self.s) and self.s[self.i] in ",|":
            self.i += 1
            alternatives.append(self._seq(opener))
        if self.i >= len(self.s):
            raise self.error(f"{opener!r} at position {start} is never closed",
                             f"close it with {closer!r}, or escape it as '\\{opener}'")
        if self.s[self.i] == "]":
            raise self._unbalanced()
        if self.s[self.i] != closer:
            raise self.error(f"{self.s[self.i]!r} at position {self.i} closes the {opener!r} at "
                             f"position {start}", f"close the {opener!r} with {closer!r} first")
        self.i += 1
        if quantifier is None:
            return ("anyof", alternatives)
        return ("capture", quantifier, alternatives)

    def _class(self) -> tuple:
        start = self.i
        self.i += 1
        negated = self.i < len(self.s) and self.s[self.i] in "!^"
        if negated:
            self.i += 1
        members = []
        while self.i < len(self.s) and self.s[self.i] != "]":
            c = self.s[self.i]
            if c == "\\" and self.i + 1 < len(self.s):
                members.append(re.escape(self.s[self.i + 1]))
                self.i += 2
                continue
            members.append("-" if c == "-" else re.escape(c))  # a bare "-" makes a range
            self.i += 1
        if self.i >= len(self.s):
            raise self.error(f"'[' at position {start} is never closed",
                             "close the character class with ']', or escape it as '\\['")
        self.i += 1
        if not members:
            raise self.error(f"empty character class at position {start}",
                             "list at least one character, e.g. [abc] or [!a-c]")
        return ("class", "[" + ("^" if negated else "") + "".join(members) + "]")


# --- compiling: the tree into ohmyglob's regex ----------------------------------------------


def _regex(nodes: list) -> str:
    return "".join(_node_regex(n) for n in nodes)


def _node_regex(n: tuple) -> str:
    kind = n[0]
    if kind == "text":
        return re.escape(n[1]) + _BOUND
    if kind == "any":
        return "[^/]*" + _BOUND
    if kind == "super":
        return ".*" + _BOUND
    if kind == "single":
        return "[^/]"
    if kind == "class":
        return n[1]
    if kind == "anyof":
        return "(?:" + "|".join(_regex(a) for a in n[1]) + ")"
    quantifier, alternatives = n[1], n[2]
    if quantifier == "!":
        inner = (_NEG_END + "|").join(_regex(a) for a in alternatives)
        return "((?:(?!(?:" + inner + _NEG_END + "))[^/]*))"
    inner = "|".join(_regex(a) for a in alternatives)
    if quantifier == "@":
        return "(" + inner + ")"
    return "((?:" + inner + ")" + quantifier + ")"


def _negations(regex: str) -> str:
    """ohmyglob's global pass: a negation whose scope is followed by a wildcard or text stops
    there; one that ends the pattern must reach the end of the path (`$`)."""
    i = regex.find(_NEG_END + ")")
    if i > 0:
        regex = regex.replace(_NEG_END, "" if _BOUND in regex[i:] else "$")
    return regex.replace(_BOUND, "")
