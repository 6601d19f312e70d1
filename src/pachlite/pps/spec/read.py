"""Normalising a spec as pachd reads it (protobuf JSON: snake_case or camelCase keys, quoted
integers), and upgrading a Pachyderm 1.x spec to 2.x."""

from __future__ import annotations

import copy
import difflib
import math
import re
from typing import Any

from pachlite.errors import SpecError
from pachlite.pps.spec.check import check
from pachlite.pps.spec.defaults import PipelineSpec
from pachlite.pps.spec.schema import resolve_ref, types_of, validate_schema
from pachlite.pps.spec.tree import camel_case, clean_path, join, leaf, pfs_nodes, show, where

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
_INT_RE = re.compile(r"-?[0-9]+")
# The schema says only "integer"; protobuf refuses what the field's type cannot hold (pps.proto:
# every integer of a CreatePipelineRequest is an int64, except these).
INT64 = (-(2**63), 2**63 - 1)
INT_RANGES = {
    ("pps_v2.ParallelismSpec", "constant"): (0, 2**64 - 1),  # uint64
    ("pps_v2.Service", "internalPort"): (-(2**31), 2**31 - 1),  # int32
    ("pps_v2.Service", "externalPort"): (-(2**31), 2**31 - 1),
}


def normalize(raw: dict, source: str = "<spec>") -> dict:
    """A new spec in the schema's spelling (camelCase, integers, clean globs), checked as pachd
    checks it; SpecError names the field, the problem and the fix."""
    return _read(raw, source, changes=None)


def stored(spec: Any, pipeline: str) -> PipelineSpec:
    """The running form of a pipeline's stored spec, checked again as at create: a spec stored
    before today's checks (by an older pachlite) fails its own pipeline with a message, instead
    of a traceback in every run."""
    try:
        return PipelineSpec.of(normalize(spec, f"the stored spec of pipeline {pipeline}"))
    except SpecError as e:
        fix = f"{e.fix}, then run 'pachlite update pipeline -f SPEC'" if e.fix else None
        raise SpecError(e.problem, fix, where=e.where) from None


def upgrade_1x(raw: dict, source: str = "<spec>") -> tuple[dict, list[str]]:
    """A Pachyderm 1.x spec rewritten for 2.x and normalised, with a list of what changed."""
    changes: list[str] = []
    spec = _read(raw, source, changes)
    return spec, list(dict.fromkeys(changes))


def _read(raw: Any, source: str, changes: list[str] | None) -> dict:
    if not isinstance(raw, dict):
        raise SpecError("a pipeline spec must be an object", 'write {"pipeline": {"name": ...}, ...}',
                        where=source)
    spec = _Reader(source, changes).convert(raw, {"$ref": "#/definitions/CreatePipelineRequest"}, "")
    validate_schema(spec, source)  # first: what follows may rely on every field's type
    for path, pfs in pfs_nodes(spec.get("input"), "input"):
        if pfs.get("glob"):
            cleaned = clean_path(pfs["glob"])
            if cleaned != pfs["glob"] and changes is not None:
                changes.append(f"{path}.glob: {pfs['glob']!r} → {cleaned!r} (cleaned as pachd does)")
            pfs["glob"] = cleaned
    check(spec, source)
    return spec


class _Reader:
    """Walks a raw spec alongside Pachyderm's schema, renaming keys and converting integers.

    With `changes=None` it is strict (1.x fields are errors); with a list it upgrades 1.x fields
    and records each change there.
    """

    def __init__(self, source: str, changes: list[str] | None):
        self.source = source
        self.changes = changes

    def convert(self, value: Any, node: dict, path: str, bounds: tuple[int, int] = INT64) -> Any:
        definition, node = resolve_ref(node)
        if "properties" in node:
            if not isinstance(value, dict):
                raise self.error(path, f"`{leaf(path)}` must be an object, not {show(value)}",
                                 "write it as {...}")
            return self.message(value, definition or "", node["properties"], path)
        if "items" in node and isinstance(value, list):
            if None in value:  # the schema allows it, protobuf does not
                raise self.error(f"{path}[{value.index(None)}]", f"`{leaf(path)}` holds null",
                                 "remove it, or write a value there")
            return [self.convert(item, node["items"], f"{path}[{i}]", bounds) for i, item in enumerate(value)]
        kinds = types_of(node)
        if "integer" in kinds:
            return self.integer(value, path, bounds)
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
                raise self.error(join(path, key), f"`{field}` is given twice", "keep one spelling")
            if value is None:  # protobuf reads null as "not set"
                continue
            bounds = INT_RANGES.get((definition, field), INT64)
            out[field] = self.convert(value, props[field], join(path, field), bounds)
        return out

    def field(self, key: str, definition: str, props: dict, path: str) -> str | None:
        """The schema's name for `key`, or None for a 1.x field an upgrade drops."""
        camel = camel_case(key)
        if key in props:
            return key
        if camel in props:
            self.note(f"`{key}` → `{camel}` (snake_case → camelCase)")
            return camel
        where = join(path, key)
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
                fix = (f"remove `{key}`, {UPGRADE_HINT}" if droppable
                       else "use a pfs input fed by a cron or spout pipeline")
                raise self.error(where, f"`{key}` is a Pachyderm 1.x field ({why})", fix)
            self.note(f"{where}: dropped `{key}` ({why})")
            return None
        close = difflib.get_close_matches(camel, list(props), n=1)
        fix = f"did you mean `{close[0]}`?" if close else f"remove it; known fields here: {', '.join(props)}"
        raise self.error(where, f"unknown field `{key}`", fix)

    def integer(self, value: Any, path: str, bounds: tuple[int, int]) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and _INT_RE.fullmatch(value):  # protobuf JSON's quoted integer
            number = int(value)
            self.note(f"{path}: {show(value)} → {number} (quoted integer → integer)")
        else:
            raise self.error(path, f"`{leaf(path)}` must be an integer, not {show(value)}",
                             "write a whole number, e.g. 1")
        low, high = bounds
        if number < low:
            raise self.error(path, f"`{leaf(path)}` must be {low} or more, not {show(value)}",
                             f"write a whole number from {low}")
        if number > high:
            raise self.error(path, f"`{leaf(path)}` is {show(value)}, more than protobuf's {high}",
                             "write a smaller number")
        return number

    def number(self, value: Any, path: str) -> int | float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                number = int(value) if _INT_RE.fullmatch(value) else float(value)
            except ValueError:
                number = math.nan
            if math.isfinite(number):
                self.note(f"{path}: {show(value)} → {number} (quoted number → number)")
                return number
        raise self.error(path, f"`{leaf(path)}` must be a number, not {show(value)}",
                         "write a number, e.g. 0.5")

    def note(self, change: str) -> None:
        if self.changes is not None:
            self.changes.append(change)

    def error(self, path: str, problem: str, fix: str) -> SpecError:
        return SpecError(problem, fix, where=where(self.source, path))
