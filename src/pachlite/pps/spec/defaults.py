"""Every default of a pipeline spec, in one place: what pachd's setPipelineDefaults fills in, and
the typed spec the engine runs (`PipelineSpec`), made once from a normalised spec."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from pachlite.errors import SpecError
from pachlite.pfs.address import DEFAULT_PROJECT, repo_key
from pachlite.pps.spec.tree import (
    COMBINATORS,
    cron_nodes,
    cron_repo,
    input_key,
    input_repos,
    pfs_inputs,
    project,
    walk,
)

REPROCESS_SPECS = ("until_success", "every_job")
DEFAULT_BRANCH = "master"
DEFAULT_DATUM_TRIES = 3
DEFAULT_IMAGE = "ubuntu:20.04"  # pachd's DefaultUserImage
# Datums one pipeline runs at once on this machine: a cluster spec may ask for thousands of
# workers, and each local one is a thread and a process, so more only thrashes (and 10^12 would
# never start). Outputs do not depend on it.
MAX_LOCAL_WORKERS = 256
MAX_DURATION_S = 315_576_000_000  # protobuf's Duration: at most 10000 years
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)")
_UNITS = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def with_defaults(spec: dict) -> dict:
    """A normalised spec as pachd runs it: pachd's setPipelineDefaults filled in. Returns a new dict."""
    out = copy.deepcopy(spec)
    made: dict[str, int] = {}  # trigger branches made per repo, counted from 1 in pachd's order
    for pfs in _sorted_pfs(out.get("input")):
        if not pfs.get("branch") and isinstance(pfs.get("trigger"), dict):
            made[pfs["repo"]] = made.get(pfs["repo"], 0) + 1
            pfs["branch"] = f"{out['pipeline']['name']}-trigger-{made[pfs['repo']]}"
            pfs["trigger"] = {**pfs["trigger"], "branch": pfs["trigger"].get("branch") or DEFAULT_BRANCH}
    for pfs in pfs_inputs(out.get("input")):
        pfs["branch"] = pfs.get("branch") or DEFAULT_BRANCH
        pfs["name"] = pfs.get("name") or pfs.get("repo")
    # Zero or absent parallelism means one worker (pachd's getExpectedNumWorkers).
    parallelism = out.get("parallelismSpec", {})
    out["parallelismSpec"] = {**parallelism, "constant": parallelism.get("constant") or 1}
    out["datumTries"] = out.get("datumTries") or DEFAULT_DATUM_TRIES
    out["outputBranch"] = out.get("outputBranch") or DEFAULT_BRANCH
    out["reprocessSpec"] = out.get("reprocessSpec") or REPROCESS_SPECS[0]
    if "transform" in out:
        out["transform"]["image"] = out["transform"].get("image") or DEFAULT_IMAGE
    return out


@dataclass(frozen=True)
class PipelineSpec:
    """A normalised spec with its defaults, as the engine runs it. `input` is the input tree with
    every pfs input's `name` and `branch` filled in and its `repo` the key of the repo it reads
    (its project's, `input.pfs.project` defaulting to the pipeline's); `spec` is the spec as given
    (normalised). `name` is the pipeline's key, which its jobs and output repo go by."""
    name: str
    input: dict
    transform: dict
    datum_tries: int
    datum_timeout: float | None  # seconds
    datum_batching: bool
    output_branch: str
    parallelism: int
    every_job: bool              # reprocessSpec "every_job": no datum is skipped
    spec: dict
    project: str = DEFAULT_PROJECT
    pipeline_name: str = ""      # in its project (PPS_PIPELINE_NAME)
    job_timeout: float | None = None  # seconds

    @classmethod
    def of(cls, spec: dict) -> PipelineSpec:
        full = with_defaults(spec)
        home = project(full)
        for _, cron in list(cron_nodes(full.get("input"))):
            _cron_as_pfs(full, cron)
        for pfs in pfs_inputs(full.get("input")):
            pfs["repo"] = input_key(pfs, home)
        name = full["pipeline"]["name"]
        return cls(repo_key(home, name), full.get("input") or {}, full["transform"],
                   int(full["datumTries"]), parse_duration(full.get("datumTimeout")),
                   bool(full["transform"].get("datumBatching")), full["outputBranch"],
                   min(int(full["parallelismSpec"]["constant"]), MAX_LOCAL_WORKERS),
                   full["reprocessSpec"] == "every_job",
                   spec, home, name, parse_duration(full.get("jobTimeout"), "jobTimeout"))

    @property
    def pfs_inputs(self) -> list[dict]:
        return pfs_inputs(self.input)

    @property
    def input_repos(self) -> list[str]:
        return input_repos(self.spec)


def _sorted_pfs(node: dict | None) -> list[dict]:
    """The pfs inputs in the order pachd's setInputDefaults visits them: after SortInput, each
    combinator's children stably sorted by InputName (a pfs input's name as given; a
    combinator's, its first child's)."""
    def name(n: dict) -> str:
        if isinstance(n.get("pfs"), dict):
            return n["pfs"].get("name") or ""
        kids = next((n[k] for k in COMBINATORS if isinstance(n.get(k), list) and n[k]), None)
        return name(ordered(kids)[0]) if kids else ""

    def ordered(kids: list) -> list[dict]:
        return sorted((k for k in kids if isinstance(k, dict)), key=name)

    def visit(n: dict) -> list[dict]:
        if isinstance(n.get("pfs"), dict) and isinstance(n["pfs"].get("repo"), str):
            return [n["pfs"]]
        kids = next((n[k] for k in COMBINATORS if isinstance(n.get(k), list)), [])
        return [p for k in ordered(kids) for p in visit(k)]
    return visit(node) if isinstance(node, dict) else []


def _cron_as_pfs(full: dict, cron: dict) -> None:
    """As pachd's worker reads a cron input (newCronIterator): a pfs input named after it, over
    every tick file of its repo's master, one datum each. In place, in the running tree."""
    name = full["pipeline"]["name"]
    pfs = {"name": cron.get("name"), "repo": cron_repo(cron, name), "branch": DEFAULT_BRANCH,
           "glob": "/*", **({"project": cron["project"]} if cron.get("project") else {})}
    for node, _, _ in walk(full.get("input"), "input", ()):
        if node.get("cron") is cron:
            del node["cron"]
            node["pfs"] = pfs


def parse_duration(s: str | None, field: str = "datumTimeout") -> float | None:
    """protobuf Duration JSON ("1.5s") or Go durations ("1m30s") → seconds."""
    if not s:
        return None
    parts = _DURATION.findall(s)
    if not parts or "".join(a + b for a, b in parts) != s:
        raise SpecError(f"{field} {s!r} is not a duration", "write it like '30s' or '5m'")
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds > MAX_DURATION_S:
        raise SpecError(f"{field} {s!r} is longer than a protobuf Duration holds (10000 years)",
                        "write a shorter duration, or leave it out for no limit")
    return seconds
