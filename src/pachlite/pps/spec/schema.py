"""Pachyderm's published JSON schema of a CreatePipelineRequest: validating against it, and the key
order an emitted spec follows."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pachlite.errors import SpecError
from pachlite.pps.spec.tree import leaf, path_of, show, where

FIRST_KEYS = ("pipeline", "description", "input", "transform")  # then the schema's order
TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
}


def validate_schema(spec: dict, source: str = "<spec>") -> None:
    """Check a normalised spec against Pachyderm's JSON schema; SpecError names the failing path."""
    import jsonschema.exceptions
    error = jsonschema.exceptions.best_match(validator().iter_errors(spec))
    if error is None:
        return
    path = path_of(error.absolute_path)
    kinds = types_of(error.schema) - {"null"}
    # The schema sets additionalProperties even on lists: an object given there is a wrong type.
    if error.validator == "additionalProperties" and kinds and "object" not in kinds:
        error.validator = "type"
    if error.validator == "additionalProperties":
        problem, fix = error.message, "use the camelCase field names of Pachyderm's schema"
    elif error.validator == "pattern":  # every pattern in the schema is a protobuf Duration
        problem = f"`{leaf(path)}` must be a duration in seconds, not {show(error.instance)}"
        fix = 'write e.g. "600s"'
    elif error.validator == "enum":
        problem, fix = error.message, f"use one of {', '.join(map(str, error.validator_value))}"
    elif kinds and error.validator in ("type", "oneOf"):
        want = " or ".join(TYPE_WORDS.get(k, k) for k in sorted(kinds))
        problem, fix = f"`{leaf(path)}` must be {want}, not {show(error.instance)}", f"write it as {want}"
    else:
        problem, fix = error.message, "see Pachyderm's pipeline specification for this field"
    raise SpecError(problem, fix, where=where(source, path))


def emit(spec: dict) -> str:
    """Canonical JSON for a normalised spec: Pachyderm's key order, 2-space indent, trailing newline."""
    ordered = in_schema_order(spec, {"$ref": "#/definitions/CreatePipelineRequest"}, FIRST_KEYS)
    return json.dumps(ordered, indent=2, ensure_ascii=False) + "\n"


@cache
def schema() -> dict:
    from importlib import resources
    path = resources.files("pachlite.pps").joinpath("schemas/CreatePipelineRequest.schema.json")
    text = path.read_text("utf-8")
    return json.loads(text)


@cache
def validator():
    import jsonschema  # ~0.1 s: only commands that check a spec pay it
    return jsonschema.Draft4Validator(schema())


def resolve_ref(node: dict) -> tuple[str | None, dict]:
    """The definition a schema node refers to (draft-04: `$ref` overrides its siblings)."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return name, schema()["definitions"][name]
    return None, node


def types_of(node: dict) -> set[str]:
    kinds = {node["type"]} if isinstance(node.get("type"), str) else set()
    return kinds | {option["type"] for option in node.get("oneOf", []) if "type" in option}


def in_schema_order(value: Any, node: dict, first: tuple[str, ...] = ()) -> Any:
    _, node = resolve_ref(node)
    if "properties" in node and isinstance(value, dict):
        props = node["properties"]
        rank = {key: i for i, key in enumerate(dict.fromkeys([*first, *props]))}
        keys = sorted(value, key=lambda k: rank.get(k, len(rank)))
        return {key: in_schema_order(value[key], props.get(key, {})) for key in keys}
    if "items" in node and isinstance(value, list):
        return [in_schema_order(item, node["items"]) for item in value]
    if isinstance(value, dict):  # maps such as `env`: sorted, so the output is canonical
        return dict(sorted(value.items()))
    return value
