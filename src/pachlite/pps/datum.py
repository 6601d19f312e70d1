"""Datums: a pipeline's input tree applied to its input commits, and each datum's ID and hash.

Mirrors Pachyderm 2.x's datum iterators (src/server/worker/datum/iterator.go) and
common.DatumID / common.HashDatum (src/server/worker/common/common.go). Datums come in the order
of the 2.0 iterators, given below; later 2.x releases keep a job's datums in a file set keyed by
datum ID, so `pachctl list datum` there is ordered by ID, which nothing should rely on.

- pfs: one datum per glob match, in path order; joinOn/groupBy templates expand over the
  glob's capture groups of the matched path.
- union: the datums of each child, one after another. A datum a previous child already made
  (same datum ID) is dropped: later Pachyderm stores a job's datums by ID, so it runs once.
- cross: the Cartesian product, the first child varying slowest; an empty child gives none.
- join: per joinOn key, in the order keys are first seen, the product of each child's inputs with
  that key; a key some child lacks keeps only the outerJoin children's inputs (none: dropped).
- group: per groupBy key, in sorted key order, one datum of every input with that key.
- cron: arrives here as what it is to pachd's worker, a pfs input on the cron's repo, branch
  master, glob "/*" (PipelineSpec makes it so).

Datum ID: as pachd's common.DatumID, BLAKE2b-256 (pachhash.New) in hex over, per input, its
name, repo, branch and path, each followed by its length as a big-endian int64: a datum's ID here
equals the cluster's. The commit is left out, so the same file in a new commit keeps its ID.

Datum hash: sha256 over the sha256 of that same framing, each input's content hash and the
pipeline salt. It cannot equal a cluster's (file content hashes are computed differently), so it
keeps the form stores of format 4 recorded (when the ID was that sha256): their datums stay
skipped after the ID changed. A directory input's content hash covers its files' paths and
hashes, so renaming a file inside a matched directory runs the datum again.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain, product

from pachlite.errors import InvalidInput
from pachlite.pps.glob import expand_template, glob_paths

INPUT_TYPES = ("pfs", "cross", "union", "join", "group")


@dataclass(slots=True)  # not frozen: one per input file, and a frozen __init__ costs 3x as much
class FileInfo:
    """One file of a commit."""

    path: str
    hash: str  # content hash, hex
    size: int


@dataclass(frozen=True, slots=True)
class Listing:
    """The commit a pfs input reads, and its files sorted by path."""

    repo: str
    branch: str
    commit: str
    files: Sequence[FileInfo]


# Given a pfs input's spec (the dict under "pfs", with name and branch defaulted), the commit it
# reads and that commit's files.
Resolve = Callable[[dict], Listing]


@dataclass(slots=True)  # not frozen: a job makes 10^5, and a frozen __init__ costs 4x as much
class DatumInput:
    """What one pfs input contributes to a datum: a matched file or directory of a commit."""

    name: str
    repo: str
    branch: str
    commit: str
    path: str  # as GlobMatch.path: "/a/b", "/dir/", or "/"
    is_dir: bool
    files: tuple[FileInfo, ...]
    join_on: str | None = None
    group_by: str | None = None
    outer_join: bool = False
    empty_files: bool = False  # user code sees empty files (pfs "emptyFiles")
    # Precomputed once: an input is shared by every datum of a cross it takes part in.
    _id_part: bytes = field(init=False, repr=False, compare=False)  # the ID's framing
    _content: bytes = field(init=False, repr=False, compare=False)
    size: int = field(init=False, repr=False, compare=False)  # its files' bytes

    def __post_init__(self) -> None:
        path = self.path.encode()
        self._id_part = _id_prefix(self.name, self.repo, self.branch) + path + _INT64(len(path))
        if self.is_dir:
            h = hashlib.sha256()
            for f in self.files:
                p = f.path.encode()
                h.update(p + _length(p) + f.hash.encode())
            self._content = h.hexdigest().encode()
            self.size = sum([f.size for f in self.files])
        else:  # a file: the one file
            f = self.files[0]
            self._content = f.hash.encode()
            self.size = f.size


@dataclass(frozen=True, slots=True)
class Datum:
    """One unit of work: the inputs user code sees together, and their datum ID."""

    id: str
    inputs: tuple[DatumInput, ...]

    def hash(self, salt: str) -> str:
        """Changes when any input's content or the pipeline's salt changes."""
        return _hash(self.inputs, salt)


def datum_id(inputs: Sequence[DatumInput]) -> str:
    # Lists, not generators, in these joins: bytes.join makes a list of a generator first
    # (a third of the time of making a datum's id and hash).
    framing = inputs[0]._id_part if len(inputs) == 1 else b"".join([i._id_part for i in inputs])
    return hashlib.blake2b(framing, digest_size=32).hexdigest()


def _make(inputs: Inputs) -> Datum:
    return Datum(datum_id(inputs), inputs)


def datums(input: dict, resolve: Resolve) -> list[Datum]:
    """The datums of a pipeline's input tree (camelCase keys), reading commits through resolve."""
    with gc_paused():
        return [_make(d) for d in _expand(input, resolve, "input")]


def datum_stream(input: dict, resolve: Resolve) -> tuple[int, Iterator[Datum]]:
    """datums(), as (how many, an iterator that makes them in the same order). The commits are
    listed and the globs matched here, so their errors come here too; a pfs input, or a cross
    whose first input is one, then makes each datum only when it is asked for: a job starts
    running the first datums while the rest are still being made."""
    count, inputs = _lazy(input, resolve, "input")
    return count, map(_make, inputs)


def datum_env(d: Datum, pfs_root: str = "/pfs") -> dict[str, str]:
    """The environment Pachyderm's worker gives user code for a datum (UserCodeEnv): per input
    `<name>` (its path under pfs_root) and `<name>_COMMIT`, PACH_DATUM_<name>_JOIN_ON and
    PACH_DATUM_<name>_GROUP_BY when set, and PACH_DATUM_ID. When inputs share a name (group, or
    a join of one repo with itself) the last one's value wins, as in the worker's environment."""
    env = {}
    for i in d.inputs:
        # Paths in a commit are already clean ("/a/b", "/dir/", "/"): no normpath needed.
        env[i.name] = f"{pfs_root}/{i.name}{i.path.rstrip('/')}"
        env[f"{i.name}_COMMIT"] = i.commit
        if i.join_on:
            env[f"PACH_DATUM_{i.name}_JOIN_ON"] = i.join_on
        if i.group_by:
            env[f"PACH_DATUM_{i.name}_GROUP_BY"] = i.group_by
    env["PACH_DATUM_ID"] = d.id
    return env


# --- internals --------------------------------------------------------------------------------

Inputs = tuple[DatumInput, ...]


@contextmanager
def gc_paused():
    """No garbage collection: making 10^5 datums, or running a job over them, would trigger full
    collections that rescan every object made so far (about half the time of making them); none
    of these objects form reference cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_INT64 = struct.Struct(">q").pack


def _length(b: bytes) -> bytes:
    return _INT64(len(b))


@functools.lru_cache(maxsize=256)
def _id_prefix(name: str, repo: str, branch: str) -> bytes:
    parts = [s.encode() for s in (name, repo, branch)]
    return b"".join(p + _length(p) for p in parts)


def _hash(inputs: Sequence[DatumInput], salt: str) -> str:
    if len(inputs) == 1:  # the same bytes as below, without the joins (most datums)
        i = inputs[0]
        framing, content = hashlib.sha256(i._id_part).hexdigest(), i._content
    else:
        framing = hashlib.sha256(b"".join([i._id_part for i in inputs])).hexdigest()
        content = b"".join([i._content for i in inputs])
    return hashlib.sha256(framing.encode() + content + salt.encode()).hexdigest()


def _lazy(node: dict, resolve: Resolve, where: str) -> tuple[int, Iterable[Inputs]]:
    kind, where_ = _kind(node, where)
    children = node[kind]
    if kind == "pfs":
        make, matches = _pfs_matches(children, resolve, where_)
        return len(matches), map(make, matches)
    if kind == "cross" and isinstance(children, list) and children:
        count, first = _lazy(children[0], resolve, f"{where_}[0]")
        rest = [_expand(c, resolve, f"{where_}[{n}]") for n, c in enumerate(children[1:], 1)]
        for r in rest:
            count *= len(r)
        return count, (a + sum(combo, ()) for a in first for combo in product(*rest))
    out = _expand(node, resolve, where)
    return len(out), out


def _kind(node: dict, where: str) -> tuple[str, str]:
    """The one input type a node of the input tree has, and where it is, for messages."""
    keys = [k for k, v in node.items() if v is not None] if isinstance(node, dict) else []
    kinds = [k for k in keys if k in INPUT_TYPES]
    if not kinds and keys:
        raise InvalidInput(f"input type {keys[0]!r} is not supported",
                           f"use one of {', '.join(INPUT_TYPES)}", where=where)
    if len(kinds) != 1:
        raise InvalidInput(f"an input needs exactly one of {', '.join(INPUT_TYPES)}",
                           'give this input one type, e.g. {"pfs": {"repo": …, "glob": "/*"}}',
                           where=where)
    return kinds[0], f"{where}.{kinds[0]}"


def _expand(node: dict, resolve: Resolve, where: str) -> list[Inputs]:
    kind, where = _kind(node, where)
    if kind == "pfs":
        return _pfs(node["pfs"], resolve, where)
    children = node[kind]
    if not isinstance(children, list):
        raise InvalidInput(f"{kind} must be a list of inputs", f'write "{kind}": [ … ]',
                           where=where)
    expanded = [_expand(c, resolve, f"{where}[{n}]") for n, c in enumerate(children)]
    return _COMBINE[kind](expanded)


def _pfs(spec: dict, resolve: Resolve, where: str) -> list[Inputs]:
    make, matches = _pfs_matches(spec, resolve, where)
    return [make(m) for m in matches]


def _pfs_matches(spec: dict, resolve: Resolve, where: str):
    """A pfs input's glob matches, and the function that makes each one's datum inputs."""
    if not isinstance(spec, dict) or not spec.get("repo") or not spec.get("glob"):
        raise InvalidInput("a pfs input needs a repo and a glob",
                           'add e.g. "repo": "data", "glob": "/*"', where=where)
    listing = resolve(spec)
    by_path = {f.path: f for f in listing.files}
    try:
        matches = glob_paths(spec["glob"], list(by_path))
    except InvalidInput as e:
        raise InvalidInput(e.problem, e.fix, where=f"{where} ({spec['name']}): {e.where}") from None
    join_on, group_by = spec.get("joinOn"), spec.get("groupBy")
    outer, empty = bool(spec.get("outerJoin")), bool(spec.get("emptyFiles"))
    name, repo, branch, commit = spec["name"], listing.repo, listing.branch, listing.commit

    def make(m) -> Inputs:
        whole = m.path.rstrip("/")  # Pachyderm expands templates over the path sans trailing /
        return (DatumInput(
            name, repo, branch, commit, m.path, m.is_dir,
            tuple(by_path[p] for p in m.files) if m.is_dir else (by_path[m.path],),
            None if join_on is None else expand_template(join_on, m.groups, whole),
            None if group_by is None else expand_template(group_by, m.groups, whole),
            outer, empty),)
    return make, matches


def _union(children: list[list[Inputs]]) -> list[Inputs]:
    seen: set[str] = set()
    out = []
    for d in chain.from_iterable(children):
        i = datum_id(d)
        if i not in seen:
            seen.add(i)
            out.append(d)
    return out


def _cross(children: list[list[Inputs]]) -> list[Inputs]:
    if not children:
        return []
    if len(children) == 1:
        return children[0]
    return [sum(combo, ()) for combo in product(*children)]


def _join(children: list[list[Inputs]]) -> list[Inputs]:
    by_key: dict[str, list[list[DatumInput]]] = {}
    for n, child in enumerate(children):
        for i in chain.from_iterable(child):
            key = i.join_on or ""
            if key not in by_key:
                by_key[key] = [[] for _ in children]
            by_key[key][n].append(i)
    out: list[Inputs] = []
    for per_child in by_key.values():
        if not all(per_child):
            per_child = [inputs for inputs in per_child if inputs and inputs[0].outer_join]
            if not per_child:
                continue
        out.extend(product(*per_child))
    return out


def _group(children: list[list[Inputs]]) -> list[Inputs]:
    by_key: dict[str, list[DatumInput]] = {}
    for i in chain.from_iterable(chain.from_iterable(children)):
        by_key.setdefault(i.group_by or "", []).append(i)
    return [tuple(by_key[k]) for k in sorted(by_key)]


_COMBINE = {"cross": _cross, "union": _union, "join": _join, "group": _group}
