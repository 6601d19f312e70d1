"""Pipeline specs: read them the way pachd does, check them the way pachd does, write them for a cluster.

pachd parses a `CreatePipelineRequest` with protobuf's JSON rules: snake_case or camelCase keys,
integers quoted or not. Pachyderm's published JSON schema, which an emitted spec must pass, takes
camelCase keys and real integers only. So `normalize` turns every spelling pachd accepts into the
schema's, and checks the spec as pachd's `ValidatePipelineRequest`/`validateInput` do;
`with_defaults` fills in what pachd's `setPipelineDefaults` would (kept apart so emitted specs stay
minimal); `emit` writes a spec in the order Pachyderm's own examples use.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import math
import posixpath
import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from pachlite.errors import SpecError

INPUT_TYPES = ("pfs", "cross", "union", "join", "group", "cron")
COMBINATORS = ("cross", "union", "join", "group")
FIRST_KEYS = ("pipeline", "description", "input", "transform")  # then the schema's order
REPROCESS_SPECS = ("until_success", "every_job")
DEFAULT_BRANCH = "master"
DEFAULT_DATUM_TRIES = 3
DEFAULT_IMAGE = "ubuntu:20.04"  # pachd's DefaultUserImage
DEFAULT_PROJECT = "default"
# pachd (2.5+): maxPipelineNameLength = 51, and the worker RC name "<project>-<name>-v99" must fit
# a 63-character Kubernetes DNS label. 1.x allowed 63, which is why older docs say so.
MAX_PIPELINE_NAME = 51
DNS_LABEL_LIMIT = 63
NAME_RE = re.compile(r"[a-zA-Z0-9_-]+")  # pachd's ancestry.ValidateName, for pipelines and repos
UPGRADE_HINT = "or upgrade the whole 1.x spec with 'pachlite upgrade spec -f FILE'"

# Pachyderm 1.x fields that 2.x renamed: (schema definition, camelCase key) -> 2.x key.
RENAMED_IN_2X = {
    ("pps_v2.Input", "atom"): "pfs",
    ("CreatePipelineRequest", "standby"): "autoscaling",
    ("CreatePipelineRequest", "chunkSpec"): "datumSetSpec",
}
# 1.x fields with no 2.x counterpart (1.x pps.proto vs 2.x pps.proto): key -> why, and whether an
# upgrade may drop it without changing what the pipeline computes.
REMOVED_IN_2X: dict[tuple[str, str], tuple[str, bool]] = {
    ("CreatePipelineRequest", "enableStats"): ("2.x always keeps datum stats", True),
    ("CreatePipelineRequest", "cacheSize"): ("2.x has no worker cache setting", True),
    ("CreatePipelineRequest", "maxQueueSize"): ("2.x has no worker queue setting", True),
    ("CreatePipelineRequest", "batch"): ("2.x has no batch flag", True),
    ("CreatePipelineRequest", "hashtreeSpec"): ("2.x storage has no hashtrees", True),
    ("CreatePipelineRequest", "scaleDownThreshold"): ("2.x scales down with `autoscaling`", True),
    ("pps_v2.ParallelismSpec", "coefficient"): ("2.x only runs a `constant` number of workers", True),
    ("pps_v2.Spout", "overwrite"): ("2.x spouts have no overwrite flag", True),
    ("pps_v2.Input", "git"): ("2.x has no git inputs", False),
}

_Error = Callable[[str, str, str], SpecError]  # (path, problem, fix) -> the error to raise
_INT_RE = re.compile(r"-?[0-9]+")
_SPACE_RE = re.compile(r"\s*")
_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
}


# ---------------------------------------------------------------------------------------------
# Reading files


def load_specs(path: str | Path) -> list[dict]:
    """The raw specs in a file: one spec, a JSON list or stream of specs, or YAML documents."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("no such file", "check the path", where=str(path)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"cannot read the file ({e})", "give a UTF-8 JSON or YAML file", where=str(path)) from None
    is_yaml = path.suffix.lower() in (".yaml", ".yml") or not text.lstrip().startswith(("{", "["))
    docs = _parse_yaml(text, path) if is_yaml else _parse_json(text, path)
    specs: list[dict] = []
    for doc in docs:
        for item in doc if isinstance(doc, list) else [doc]:
            if not isinstance(item, dict):
                raise SpecError(
                    f"expected a pipeline spec (an object), found {_show(item)}",
                    "give one spec, a list of specs, or YAML documents separated by ---",
                    where=str(path),
                )
            specs.append(item)
    if not specs:
        raise SpecError("holds no pipeline spec", 'write one: {"pipeline": {"name": ...}, ...}', where=str(path))
    return specs


def _parse_json(text: str, path: Path) -> list[Any]:
    # Like pachctl, read a stream of JSON values, so `{...}{...}` holds two specs.
    decoder, docs, pos = json.JSONDecoder(), [], 0
    try:
        while (pos := _SPACE_RE.match(text, pos).end()) < len(text):
            doc, pos = decoder.raw_decode(text, pos)
            docs.append(doc)
    except json.JSONDecodeError as e:
        raise SpecError(
            f"not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})",
            "fix the JSON syntax at that line",
            where=f"{path}:{e.lineno}",
        ) from None
    return docs


def _parse_yaml(text: str, path: Path) -> list[Any]:
    import yaml  # only YAML specs pay its import, not every `pachlite run`
    try:
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(e, "problem", None) or str(e)
        raise SpecError(
            f"not valid YAML: {problem}" + (f" (line {line}, column {mark.column + 1})" if mark else ""),
            "fix the YAML syntax at that line",
            where=f"{path}:{line}" if line else str(path),
        ) from None


# ---------------------------------------------------------------------------------------------
# Normalising and upgrading


def normalize(raw: dict, source: str = "<spec>") -> dict:
    """A new spec in the schema's spelling (camelCase, integers, clean globs), checked as pachd
    checks it; SpecError names the field, the problem and the fix."""
    return _read(raw, source, changes=None)


def upgrade_1x(raw: dict, source: str = "<spec>") -> tuple[dict, list[str]]:
    """A Pachyderm 1.x spec rewritten for 2.x and normalised, with a list of what changed."""
    changes: list[str] = []
    spec = _read(raw, source, changes)
    return spec, list(dict.fromkeys(changes))


def _read(raw: Any, source: str, changes: list[str] | None) -> dict:
    if not isinstance(raw, dict):
        raise SpecError("a pipeline spec must be an object", 'write {"pipeline": {"name": ...}, ...}', where=source)
    spec = _Reader(source, changes).convert(raw, {"$ref": "#/definitions/CreatePipelineRequest"}, "")
    for path, pfs in _pfs_nodes(spec.get("input"), "input"):
        if pfs.get("glob"):
            cleaned = _clean_path(pfs["glob"])
            if cleaned != pfs["glob"] and changes is not None:
                changes.append(f"{path}.glob: {pfs['glob']!r} → {cleaned!r} (cleaned as pachd does)")
            pfs["glob"] = cleaned
    validate_schema(spec, source)
    _check(spec, source)
    return spec


class _Reader:
    """Walks a raw spec alongside Pachyderm's schema, renaming keys and converting integers.

    With `changes=None` it is strict (1.x fields are errors); with a list it upgrades 1.x fields
    and records each change there.
    """

    def __init__(self, source: str, changes: list[str] | None):
        self.source = source
        self.changes = changes

    def convert(self, value: Any, node: dict, path: str) -> Any:
        definition, node = _resolve(node)
        if "properties" in node:
            if not isinstance(value, dict):
                raise self.error(path, f"`{_leaf(path)}` must be an object, not {_show(value)}", "write it as {...}")
            return self.message(value, definition or "", node["properties"], path)
        if "items" in node and isinstance(value, list):
            return [self.convert(item, node["items"], f"{path}[{i}]") for i, item in enumerate(value)]
        kinds = _types(node)
        if "integer" in kinds:
            return self.integer(value, path)
        if "number" in kinds:
            return self.number(value, path)
        return copy.deepcopy(value)  # strings, booleans, and maps such as `env`, whose keys are the user's

    def message(self, raw: dict, definition: str, props: dict, path: str) -> dict:
        out: dict = {}
        for key, value in raw.items():
            field = self.field(key, definition, props, path)
            if field is None:
                continue
            if field in out:
                raise self.error(_join(path, key), f"`{field}` is given twice", "keep one spelling")
            if value is None:  # protobuf reads null as "not set"
                continue
            out[field] = self.convert(value, props[field], _join(path, field))
        return out

    def field(self, key: str, definition: str, props: dict, path: str) -> str | None:
        """The schema's name for `key`, or None for a 1.x field an upgrade drops."""
        camel = _camel(key)
        if key in props:
            return key
        if camel in props:
            self.note(f"`{key}` → `{camel}` (snake_case → camelCase)")
            return camel
        where = _join(path, key)
        if (definition, camel) in RENAMED_IN_2X:
            new = RENAMED_IN_2X[definition, camel]
            if self.changes is None:
                problem = f"`{key}` is a Pachyderm 1.x field; 2.x calls it `{new}`"
                raise self.error(where, problem, f"rename `{key}` to `{new}`, {UPGRADE_HINT}")
            self.note(f"{where}: `{key}` → `{new}` (1.x → 2.x)")
            return new
        if (definition, camel) in REMOVED_IN_2X:
            why, droppable = REMOVED_IN_2X[definition, camel]
            if self.changes is None or not droppable:
                fix = f"remove `{key}`, {UPGRADE_HINT}" if droppable else "use a pfs input fed by a cron or spout pipeline"
                raise self.error(where, f"`{key}` is a Pachyderm 1.x field ({why})", fix)
            self.note(f"{where}: dropped `{key}` ({why})")
            return None
        close = difflib.get_close_matches(camel, list(props), n=1)
        fix = f"did you mean `{close[0]}`?" if close else f"remove it; known fields here: {', '.join(props)}"
        raise self.error(where, f"unknown field `{key}`", fix)

    def integer(self, value: Any, path: str) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and _INT_RE.fullmatch(value):  # protobuf JSON's quoted integer
            self.note(f"{path}: {_show(value)} → {int(value)} (quoted integer → integer)")
            return int(value)
        raise self.error(path, f"`{_leaf(path)}` must be an integer, not {_show(value)}", "write a whole number, e.g. 1")

    def number(self, value: Any, path: str) -> int | float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                number = int(value) if _INT_RE.fullmatch(value) else float(value)
            except ValueError:
                number = math.nan
            if math.isfinite(number):
                self.note(f"{path}: {_show(value)} → {number} (quoted number → number)")
                return number
        raise self.error(path, f"`{_leaf(path)}` must be a number, not {_show(value)}", "write a number, e.g. 0.5")

    def note(self, change: str) -> None:
        if self.changes is not None:
            self.changes.append(change)

    def error(self, path: str, problem: str, fix: str) -> SpecError:
        return SpecError(problem, fix, where=_where(self.source, path))


# ---------------------------------------------------------------------------------------------
# Checking


def validate_schema(spec: dict, source: str = "<spec>") -> None:
    """Check a normalised spec against Pachyderm's JSON schema; SpecError names the failing path."""
    import jsonschema.exceptions
    error = jsonschema.exceptions.best_match(_validator().iter_errors(spec))
    if error is None:
        return
    path = _path_of(error.absolute_path)
    kinds = _types(error.schema) - {"null"}
    if error.validator == "additionalProperties":
        problem, fix = error.message, "use the camelCase field names of Pachyderm's schema"
    elif error.validator == "pattern":  # every pattern in the schema is a protobuf Duration
        problem, fix = f"`{_leaf(path)}` must be a duration in seconds, not {_show(error.instance)}", 'write e.g. "600s"'
    elif error.validator == "enum":
        problem, fix = error.message, f"use one of {', '.join(map(str, error.validator_value))}"
    elif kinds and error.validator in ("type", "oneOf"):
        want = " or ".join(_TYPE_WORDS.get(k, k) for k in sorted(kinds))
        problem, fix = f"`{_leaf(path)}` must be {want}, not {_show(error.instance)}", f"write it as {want}"
    else:
        problem, fix = error.message, "see Pachyderm's pipeline specification for this field"
    raise SpecError(problem, fix, where=_where(source, path))


def _check(spec: dict, source: str) -> None:
    """pachd's checks on a CreatePipelineRequest, plus what pachlite needs to run it locally."""

    def error(path: str, problem: str, fix: str) -> SpecError:
        return SpecError(problem, fix, where=_where(source, path))

    pipeline = spec.get("pipeline") or {}
    name = pipeline.get("name", "")
    if not name:
        raise error("pipeline.name", "the pipeline has no name", 'set "pipeline": {"name": "<name>"}')
    if not NAME_RE.fullmatch(name):
        raise error(
            "pipeline.name", f"pipeline name {name!r} may hold only letters, digits, '_' and '-'", "rename the pipeline"
        )
    if not name[0].isalnum():
        raise error("pipeline.name", f"pipeline name {name!r} must start with a letter or digit", "rename the pipeline")
    project = (pipeline.get("project") or {}).get("name") or DEFAULT_PROJECT
    limit = min(MAX_PIPELINE_NAME, DNS_LABEL_LIMIT - len(f"{project}--v99"))
    if len(name) > limit:
        raise error(
            "pipeline.name",
            f"pipeline name is {len(name)} characters long; pachd allows {limit}",
            f"shorten it to {limit} characters or fewer",
        )

    transform = spec.get("transform")
    if not transform:
        raise error("transform", "the pipeline has no transform", 'add "transform": {"image": "...", "cmd": [...]}')
    if not transform.get("cmd"):  # pachlite runs the command itself, so it must be spelled out
        raise error(
            "transform.cmd",
            "the transform has no `cmd`",
            'give the command as a list, e.g. "cmd": ["python3", "/app/main.py"]',
        )
    reprocess = spec.get("reprocessSpec")
    if reprocess and reprocess not in REPROCESS_SPECS:
        raise error(
            "reprocessSpec", f"reprocessSpec {reprocess!r} is unknown", 'use "until_success" (the default) or "every_job"'
        )

    root = spec.get("input")
    if root is None:
        return
    for node, path, outer in _walk(root, "input", ()):
        _check_input(node, path, outer, error)
    _check_names(root, "input", set(), error)
    for path, pfs in _pfs_nodes(root, "input"):
        if pfs["repo"] == name and pfs.get("project", project) == project:
            raise error(
                f"{path}.repo",
                f"pipeline {name!r} reads its own output repo {name!r}",
                "read another repo, or rename the pipeline",
            )


def _check_input(node: dict, path: str, outer: tuple[str, ...], error: _Error) -> None:
    kinds = [k for k in INPUT_TYPES if k in node]
    if not kinds:
        raise error(path, "the input has no type", f"give it exactly one of {', '.join(INPUT_TYPES)}")
    if len(kinds) > 1:
        raise error(
            path,
            f"the input sets {' and '.join(f'`{k}`' for k in kinds)}; an input has exactly one type",
            "keep one, or put them side by side in a `cross` or `union`",
        )
    kind = kinds[0]
    if kind in COMBINATORS and not node[kind]:
        raise error(f"{path}.{kind}", f"`{kind}` lists no inputs", f"list the inputs to {kind}")
    if kind == "cron" and not node["cron"].get("name"):
        raise error(f"{path}.cron.name", "the cron input has no name", 'set "name"')
    if kind != "pfs":
        return
    pfs, path = node["pfs"], f"{path}.pfs"
    repo = pfs.get("repo")
    if not repo:
        raise error(f"{path}.repo", "the pfs input has no `repo`", 'name the repo to read, e.g. "repo": "images"')
    if not NAME_RE.fullmatch(repo):
        raise error(
            f"{path}.repo",
            f"repo name {repo!r} may hold only letters, digits, '_' and '-'",
            "give the repo's name, without branch or path",
        )
    if not pfs.get("glob") and not pfs.get("s3"):
        raise error(
            f"{path}.glob",
            "the pfs input has no `glob`",
            'add one: "/" reads the repo as one datum, "/*" makes a datum per top-level entry',
        )
    if (pfs.get("name") or repo) == "out":
        raise error(
            f"{path}.name",
            "an input may not be named `out`",
            "set `name` to something else: /pfs/out is where the pipeline writes",
        )
    if pfs.get("commit"):
        raise error(
            f"{path}.commit",
            "a pipeline input cannot come from a commit",
            "point a branch at the commit and set `branch`",
        )
    # pachd ignores these keys outside their combinator, so there they are always a mistake.
    for key, kind in (("joinOn", "join"), ("outerJoin", "join"), ("groupBy", "group")):
        if pfs.get(key) and kind not in outer:
            raise error(
                f"{path}.{key}",
                f"`{key}` only works on an input inside a `{kind}`",
                f"put this input in a `{kind}`, or remove `{key}`",
            )


def _check_names(node: dict, path: str, names: set[str], error: _Error) -> None:
    """pachd's validateNames: names are unique across crossed/joined/grouped inputs; the children
    of a union may share a name, but not with anything the union is combined with."""
    if "pfs" in node or "cron" in node:
        leaf = node.get("pfs") or node["cron"]
        name = leaf.get("name") or leaf.get("repo", "")
        if name in names:
            raise error(
                path,
                f"input name {name!r} is used more than once",
                "give each input a distinct `name` (two inputs from one repo need one each)",
            )
        names.add(name)
    elif "union" in node:
        seen: set[str] = set()
        for i, child in enumerate(node["union"]):
            branch = set(names)
            _check_names(child, f"{path}.union[{i}]", branch, error)
            seen |= branch
        names |= seen
    else:
        kind = next(k for k in COMBINATORS if k in node)
        for i, child in enumerate(node[kind]):
            _check_names(child, f"{path}.{kind}[{i}]", names, error)


# ---------------------------------------------------------------------------------------------
# Defaults, emitting and reading a spec


def with_defaults(spec: dict) -> dict:
    """A normalised spec as pachd runs it: pachd's setPipelineDefaults filled in. Returns a new dict."""
    out = copy.deepcopy(spec)
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


def output_repo(spec: dict) -> str:
    """The repo a pipeline writes: Pachyderm names it after the pipeline."""
    return spec["pipeline"]["name"]


def emit(spec: dict) -> str:
    """Canonical JSON for a normalised spec: Pachyderm's key order, 2-space indent, trailing newline."""
    ordered = _ordered(spec, {"$ref": "#/definitions/CreatePipelineRequest"}, FIRST_KEYS)
    return json.dumps(ordered, indent=2, ensure_ascii=False) + "\n"


def canonical_hash(spec: dict) -> str:
    """sha256 of the spec as it runs, in sorted-key JSON: the stage hash. Spelling a default out,
    or reordering keys, does not change it."""
    text = json.dumps(with_defaults(spec), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def dag_order(pipelines: list[dict]) -> list[dict]:
    """Upstream pipelines before the ones that read their output; ties keep the given order."""
    names = {p["pipeline"]["name"] for p in pipelines}
    done: list[dict] = []
    placed: set[str] = set()
    while len(done) < len(pipelines):
        ready = [p for p in pipelines if p["pipeline"]["name"] not in placed
                 and all(r not in names or r in placed for r in input_repos(p))]
        if not ready:
            raise SpecError("the pipelines read each other's outputs in a cycle",
                            "remove the cycle from their inputs")
        for p in ready:
            done.append(p)
            placed.add(p["pipeline"]["name"])
    return done


def pfs_inputs(input: dict | None) -> list[dict]:
    """Every `pfs` input in an input tree, depth first, in the order written."""
    return [pfs for _, pfs in _pfs_nodes(input, "input")]


def input_repos(spec: dict) -> list[str]:
    """The distinct repos a pipeline reads, in the order first written."""
    return list(dict.fromkeys(pfs["repo"] for pfs in pfs_inputs(spec.get("input"))))


# ---------------------------------------------------------------------------------------------
# Helpers


@cache
def _schema() -> dict:
    from importlib import resources
    text = resources.files("pachlite.pps").joinpath("schemas/CreatePipelineRequest.schema.json").read_text("utf-8")
    return json.loads(text)


@cache
def _validator():
    import jsonschema  # ~0.1 s: only commands that check a spec pay it
    return jsonschema.Draft4Validator(_schema())


def _resolve(node: dict) -> tuple[str | None, dict]:
    """The definition a schema node refers to (draft-04: `$ref` overrides its siblings)."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return name, _schema()["definitions"][name]
    return None, node


def _types(node: dict) -> set[str]:
    kinds = {node["type"]} if isinstance(node.get("type"), str) else set()
    return kinds | {option["type"] for option in node.get("oneOf", []) if "type" in option}


def _ordered(value: Any, node: dict, first: tuple[str, ...] = ()) -> Any:
    _, node = _resolve(node)
    if "properties" in node and isinstance(value, dict):
        props = node["properties"]
        rank = {key: i for i, key in enumerate(dict.fromkeys([*first, *props]))}
        keys = sorted(value, key=lambda k: rank.get(k, len(rank)))
        return {key: _ordered(value[key], props.get(key, {})) for key in keys}
    if "items" in node and isinstance(value, list):
        return [_ordered(item, node["items"]) for item in value]
    if isinstance(value, dict):  # maps such as `env`: sorted, so the output is canonical
        return dict(sorted(value.items()))
    return value


def _walk(node: dict, path: str, outer: tuple[str, ...]) -> Iterator[tuple[dict, str, tuple[str, ...]]]:
    """Each input node with its path and the combinators above it, parents before children."""
    yield node, path, outer
    for kind in COMBINATORS:
        for i, child in enumerate(node.get(kind) or []):
            yield from _walk(child, f"{path}.{kind}[{i}]", (*outer, kind))


def _pfs_nodes(node: dict | None, path: str) -> Iterator[tuple[str, dict]]:
    if not isinstance(node, dict):
        return
    for child, child_path, _ in _walk(node, path, ()):
        if isinstance(child.get("pfs"), dict):
            yield f"{child_path}.pfs", child["pfs"]


def _clean_path(p: str) -> str:
    """pachd's pfsfile.CleanPath: "abc/" -> "/abc", "" -> "/"."""
    p = posixpath.normpath(p) if p else "."
    return "/" if p == "." else "/" + p.strip("/")


def _camel(key: str) -> str:
    """protobuf's JSON name for a field: each "_x" becomes "X"."""
    return re.sub(r"_([a-zA-Z0-9])", lambda m: m.group(1).upper(), key)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1] if path else "spec"


def _path_of(parts: Any) -> str:
    path = ""
    for part in parts:
        path = f"{path}[{part}]" if isinstance(part, int) else _join(path, part)
    return path


def _show(value: Any) -> str:
    """A value as the user would have written it, shortened for a one-line message."""
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _where(source: str, path: str) -> str:
    return f"{source}: {path}" if path else source
