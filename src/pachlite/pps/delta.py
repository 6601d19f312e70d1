"""Delta planning: the datums a job must look at, found from what changed in its input commits.

A job whose base job ran the same pipeline version (same input tree, same salt) differs from it
only in the glob matches that hold a changed file. Every other datum has the same ID and the same
hash as in the base job (neither depends on the commit, only on paths and contents), so it is
skipped without being listed: the store carries its record and its outputs over. Planning then
costs in proportion to the change, not to the input, and adding one file to a repo of 100,000
looks at one datum, as the benchmark's incremental job shows.

It covers trees of pfs, cross and union inputs. Join and group (a changed file can move a datum
between keys), a base job with recovered datums (they must run again), and changes touching a
large part of an input take the full plan of plan.py, which gives the same steps.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from itertools import product

from pachlite.pfs import PFS
from pachlite.pps.datum import Datum, DatumInput, FileInfo, Inputs, Listing, _expand, datum_id
from pachlite.pps.glob import compile_glob, expand_template
from pachlite.pps.plan import BaseDatum, Plan, Step
from pachlite.pps.states import Action
from pachlite.store import Handle, commits, datums, files, jobs

# Beyond this many changed paths per input, listing the whole commit costs about the same.
MAX_CHANGED = 2000
MAX_CHAIN = 64  # commits between the base job's input and this job's, read from change logs
SIMPLE = ("pfs", "cross", "union")


def delta_plan(pfs: PFS, input: dict, salt: str, base_id: str,
               base_commits: dict[tuple[str, str], str], commits: dict[tuple[str, str], str],
               new: Callable[[dict], Listing]) -> Plan | None:
    """The plan of a job reading `commits` whose base job read `base_commits` ((repo, branch) →
    commit), or None when only the full plan applies. `new` lists a pfs input's current commit
    (called only for inputs crossed with a changed one)."""
    if not _simple(input):
        return None
    store = pfs.store
    # The base job's counts, not a scan of its datums: a successful job has no failed datum, and
    # its recovered ones (which must run again) are counted; every datum of it has a row.
    base_job = jobs.get(store, base_id)
    if base_job.recovered:
        return None
    sides = {"new": _Side(new), "old": _Side(_old_resolver(pfs, base_commits))}
    for leaf in _leaves(input):
        key = (leaf["repo"], leaf["branch"])
        if key not in base_commits or key not in commits:
            return None
        current = commits[key]
        if current == base_commits[key]:
            continue
        changed = _changed_paths(store, base_commits[key], current)
        if changed is None:
            return None
        for side, commit in (("new", current), ("old", base_commits[key])):
            sides[side].dirty[id(leaf)] = _dirty_matches(pfs, leaf, commit, changed,
                                                         pfs.commit_id(commit))
    touched_new = {datum_id(d): d for d in sides["new"].datums(input)}
    touched_old = {datum_id(d) for d in sides["old"].datums(input)}
    base = datums.base_records(store, base_id, BaseDatum,
                               ids=list(touched_new.keys() | touched_old))
    steps: list[Step] = []
    for did, inputs in touched_new.items():
        d = Datum(did, inputs)
        h = d.hash(salt)
        b = base.get(did)
        if b is None:
            steps.append(Step(Action.RUN, did, "new datum", d, h))
        elif b.hash != h:
            steps.append(Step(Action.RUN, did, "input or pipeline changed", d, h, b))
        else:
            steps.append(Step(Action.SKIP, did, f"unchanged since job {b.job_id}", d, h, b))
    for did in sorted(touched_old - touched_new.keys()):
        b = base.get(did)
        if b is not None:
            steps.append(Step(Action.DELETE, did, "datum no longer in the input; outputs removed",
                              None, b.hash, b))
    return Plan(tuple(steps), carried=base_job.total - len(base))


# ---- the input tree --------------------------------------------------------------------------

def _simple(node) -> bool:
    if not isinstance(node, dict):
        return False
    kinds = [k for k, v in node.items() if v is not None]
    if len(kinds) != 1 or kinds[0] not in SIMPLE:
        return False
    if kinds[0] == "pfs":
        return isinstance(node["pfs"], dict)
    return isinstance(node[kinds[0]], list) and all(_simple(c) for c in node[kinds[0]])


def _leaves(node: dict) -> list[dict]:
    """The pfs specs of the tree (the dicts themselves: their identity keys the dirty sets)."""
    if "pfs" in node and node["pfs"] is not None:
        return [node["pfs"]]
    kind = next(k for k, v in node.items() if v is not None)
    return [leaf for child in node[kind] for leaf in _leaves(child)]


class _Side:
    """One side of the comparison (the new commits or the base job's): its dirty matches per
    pfs input, and the datums of the tree that contain at least one of them."""

    def __init__(self, resolve: Callable[[dict], Listing]):
        self.resolve = resolve
        self.dirty: dict[int, list[DatumInput]] = {}

    def datums(self, node: dict) -> list[Inputs]:
        kind = next(k for k, v in node.items() if v is not None)
        if kind == "pfs":
            spec = node["pfs"]
            return [(i,) for i in self.dirty.get(id(spec), ())]
        children = node[kind]
        dirty = [self.datums(c) for c in children]
        if kind == "union":
            return [d for child in dirty for d in child]
        # cross: a datum is touched when any of its parts is; the others range over everything.
        out: list[Inputs] = []
        seen: set[str] = set()
        full: dict[int, list[Inputs]] = {}
        for j, part in enumerate(dirty):
            if not part:
                continue
            for k, child in enumerate(children):
                if k != j and k not in full:
                    full[k] = _expand(child, self.resolve, "input")  # each sibling once
            ranges = [part if k == j else full[k] for k in range(len(children))]
            for combo in product(*ranges):
                d = sum(combo, ())
                i = datum_id(d)
                if i not in seen:
                    seen.add(i)
                    out.append(d)
        return out

def _old_resolver(pfs: PFS, commits: dict[tuple[str, str], str]) -> Callable[[dict], Listing]:
    """Lists a pfs input (with its defaults, as datum._pfs passes it) at the base job's commit."""
    cache: dict[str, Listing] = {}

    def resolve(spec: dict) -> Listing:
        c = commits[(spec["repo"], spec["branch"])]
        if c not in cache:
            cache[c] = Listing(spec["repo"], spec["branch"], c,
                               [FileInfo(*r) for r in pfs.files(c)])
        return cache[c]
    return resolve


# ---- what changed --------------------------------------------------------------------------

def _changed_paths(store: Handle, old: str, new: str) -> list[str] | None:
    """Paths added, removed or rewritten between two commits (and maybe some rewritten with the
    same content, which the datum hashes then tell apart); None when there are many."""
    chain = []
    c: str | None = new
    while c != old and c is not None and len(chain) < MAX_CHAIN:
        if not files.has_change_log(store, c):
            break
        chain.append(c)
        c = commits.get(store, c).parent
    if c == old:  # new descends from old: what its commits changed, read from their logs
        if not chain:
            return []
        paths = files.logged_changes(store, chain, limit=MAX_CHANGED + 1)
    else:  # (a branch moved back, a commit made from another): compare the file lists
        paths = files.differing_paths(store, old, new, limit=MAX_CHANGED + 1)
    return None if len(paths) > MAX_CHANGED else paths


def _dirty_matches(pfs: PFS, spec: dict, commit: str, changed: list[str],
                   shown: str) -> list[DatumInput]:
    """The glob matches of `commit` (a key; `shown` is its id as user code is told it) that
    contain a changed path, as datum inputs, in path order."""
    glob = compile_glob(spec["glob"])
    found: dict[str, tuple[str, ...]] = {}
    for p in changed:
        for candidate in _self_and_ancestors(p, glob.pattern == "/"):
            if candidate in found:
                continue
            groups = glob.match(candidate)
            if groups is not None:
                found[candidate] = groups
    out = []
    for path in sorted(found):
        # A match "/a/" holds the files under it, "/a" the file itself, "/" them all (a commit
        # never has both a file and a folder at one path).
        files = [FileInfo(*r) for r in pfs.files(commit, path)]
        if not files:
            continue  # not in this commit: the match exists only on the other side
        is_dir = path.endswith("/")
        whole = path.rstrip("/")
        join_on, group_by = spec.get("joinOn"), spec.get("groupBy")
        out.append(DatumInput(
            spec["name"], spec["repo"], spec["branch"], shown, path, is_dir, tuple(files),
            None if join_on is None else expand_template(join_on, found[path], whole),
            None if group_by is None else expand_template(group_by, found[path], whole),
            bool(spec.get("outerJoin")), bool(spec.get("emptyFiles"))))
    return out


def _self_and_ancestors(path: str, root: bool) -> list[str]:
    """"/a/b/c" → "/a/b/c", "/a/b/", "/a/" (and "/" when the glob is the root)."""
    out = [path]
    d = posixpath.dirname(path)
    while d != "/":
        out.append(d + "/")
        d = posixpath.dirname(d)
    if root:
        out.append("/")
    return out
