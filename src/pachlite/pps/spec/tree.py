"""Input trees and field paths: walking a spec's inputs, and naming a field in a message."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator
from typing import Any

from pachlite.errors import SpecError
from pachlite.pfs.address import DEFAULT_PROJECT, repo_key

INPUT_TYPES = ("pfs", "cross", "union", "join", "group", "cron")
COMBINATORS = ("cross", "union", "join", "group")


def walk(node: dict, path: str, outer: tuple[str, ...]) -> Iterator[tuple[dict, str, tuple[str, ...]]]:
    """Each input node with its path and the combinators above it, parents before children.

    What is not an input node is passed over, so a stored spec that today's checks refuse can
    still be listed (and refused with a message when it is run)."""
    if not isinstance(node, dict):
        return
    yield node, path, outer
    for kind in COMBINATORS:
        children = node.get(kind)
        for i, child in enumerate(children if isinstance(children, list) else []):
            yield from walk(child, f"{path}.{kind}[{i}]", (*outer, kind))


def pfs_nodes(node: dict | None, path: str) -> Iterator[tuple[str, dict]]:
    """Each pfs input (one that names its repo) with its path."""
    for child, child_path, _ in walk(node, path, ()):
        pfs = child.get("pfs")
        if isinstance(pfs, dict) and isinstance(pfs.get("repo"), str):
            yield f"{child_path}.pfs", pfs


def cron_nodes(node: dict | None, path: str = "input") -> Iterator[tuple[str, dict]]:
    """Each cron input of an input tree with its path."""
    for child, child_path, _ in walk(node, path, ()):
        if isinstance(child.get("cron"), dict):
            yield f"{child_path}.cron", child["cron"]


def cron_repo(cron: dict, pipeline: str) -> str:
    """pachd's setInputDefaults: a cron input's repo is `<pipeline>_<name>` unless it names one."""
    return cron.get("repo") or f"{pipeline}_{cron.get('name', '')}"


def pfs_inputs(input: dict | None) -> list[dict]:
    """Every `pfs` input in an input tree, depth first, in the order written."""
    return [pfs for _, pfs in pfs_nodes(input, "input")]


def project(spec: dict) -> str:
    """The project a pipeline is in: `pipeline.project.name`, or the default project."""
    pipeline = spec.get("pipeline") if isinstance(spec, dict) else None
    named = pipeline.get("project") if isinstance(pipeline, dict) else None
    return (named.get("name") if isinstance(named, dict) else None) or DEFAULT_PROJECT


def pipeline_key(spec: dict) -> str:
    """The key of a pipeline (and of its output repo): pfs/address.py's repo_key."""
    return repo_key(project(spec), spec["pipeline"]["name"])


def input_key(pfs: dict, pipeline_project: str) -> str:
    """The key of the repo a pfs input reads: `input.pfs.project` defaults to the pipeline's."""
    return repo_key(pfs.get("project") or pipeline_project, pfs["repo"])


def input_repos(spec: dict) -> list[str]:
    """The keys of the distinct repos a pipeline reads (its cron inputs' tick repos too), in the
    order first written."""
    root = spec.get("input") if isinstance(spec, dict) else None
    home = project(spec)
    keys = []
    for node, _, _ in walk(root, "input", ()):
        pfs, cron = node.get("pfs"), node.get("cron")
        if isinstance(pfs, dict) and isinstance(pfs.get("repo"), str):
            keys.append(input_key(pfs, home))
        elif isinstance(cron, dict):
            keys.append(cron_key(spec, cron))
    return list(dict.fromkeys(keys))


def cron_key(spec: dict, cron: dict) -> str:
    """The key of a cron input's tick repo (in the cron's `project`, else the pipeline's)."""
    name = (spec.get("pipeline") or {}).get("name", "")
    return repo_key(cron.get("project") or project(spec), cron_repo(cron, name))


def dag_order(pipelines: list[dict]) -> list[dict]:
    """Upstream pipelines before the ones that read their output; ties keep the given order."""
    names = {pipeline_key(p) for p in pipelines}
    done: list[dict] = []
    placed: set[str] = set()
    while len(done) < len(pipelines):
        ready = [p for p in pipelines if pipeline_key(p) not in placed
                 and all(r not in names or r in placed for r in input_repos(p))]
        if not ready:
            raise SpecError("the pipelines read each other's outputs in a cycle",
                            "remove the cycle from their inputs")
        for p in ready:
            done.append(p)
            placed.add(pipeline_key(p))
    return done


def clean_path(p: str) -> str:
    """pachd's pfsfile.CleanPath (path.Clean("/" + p)): "abc/" -> "/abc", "" -> "/", "../x" -> "/x"."""
    return posixpath.normpath("/" + p.lstrip("/"))


def camel_case(key: str) -> str:
    """protobuf's JSON name for a field: each "_x" becomes "X"."""
    return re.sub(r"_([a-zA-Z0-9])", lambda m: m.group(1).upper(), key)


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1] if path else "spec"


def path_of(parts: Any) -> str:
    path = ""
    for part in parts:
        path = f"{path}[{part}]" if isinstance(part, int) else join(path, part)
    return path


def show(value: Any) -> str:
    """A value as the user would have written it, shortened for a one-line message."""
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def where(source: str, path: str) -> str:
    return f"{source}: {path}" if path else source
