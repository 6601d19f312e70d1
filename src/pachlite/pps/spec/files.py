"""Reading spec files as pachctl does: one spec, a JSON list or stream of specs, or YAML documents."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pachlite.errors import SpecError
from pachlite.pps.spec.tree import show

_SPACE_RE = re.compile(r"\s*")


def load_specs(path: str | Path) -> list[dict]:
    """The raw specs in a file: one spec, a JSON list or stream of specs, or YAML documents."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("no such file", "check the path", where=str(path)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"cannot read the file ({e})", "give a UTF-8 JSON or YAML file",
                        where=str(path)) from None
    is_yaml = path.suffix.lower() in (".yaml", ".yml") or not text.lstrip().startswith(("{", "["))
    docs = _parse_yaml(text, path) if is_yaml else _parse_json(text, path)
    specs: list[dict] = []
    for doc in docs:
        for item in doc if isinstance(doc, list) else [doc]:
            if not isinstance(item, dict):
                raise SpecError(
                    f"expected a pipeline spec (an object), found {show(item)}",
                    "give one spec, a list of specs, or YAML documents separated by ---",
                    where=str(path),
                )
            specs.append(item)
    if not specs:
        raise SpecError("holds no pipeline spec", 'write one: {"pipeline": {"name": ...}, ...}',
                        where=str(path))
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
