#!/usr/bin/env python3
"""Stage `infer`: for each attribute file, out/<its name> = the prediction and its variables.

--attributes takes files or folders (every file below a folder, written under its path there),
repeated or several at once, so one call can serve many datums.
"""

from __future__ import annotations

import argparse
import json

from diabetes import stage
from diabetes.data import files_under, read_model, read_record
from diabetes.stage import StageError


def infer(args: argparse.Namespace) -> dict[str, str]:
    model = read_model(args.model)
    sources: dict[str, str] = {}  # output name -> attribute file
    for given in args.attributes:
        found = files_under(given)
        if not found:
            raise StageError(given, "holds no attribute files", "put the attribute JSON files in it")
        for path, name in found:
            if name in sources:
                raise StageError(path, f"would write {name} that {sources[name]} writes too",
                                 "give attribute files distinct names")
            sources[name] = path
    attributes = {}
    for name, path in sources.items():
        attributes[name], _ = read_record(path)
        model.require_features(attributes[name], path)
    print(f"predicted {len(attributes)} file(s) with {args.model}")
    return {name: prediction_json(model.predict_one(variables), variables)
            for name, variables in attributes.items()}


def prediction_json(y: float, variables: dict[str, float]) -> str:
    """json.dumps({"predicted_diabetes_progression": y, "independent_variables": [{"name": n,
    "value": v}, ...]}, indent=2), to the byte. Built around json's C encoder for each value:
    with an indent json.dumps takes its pure-Python encoder, a fifth of a datum's time."""
    dumps = json.dumps
    items = ",\n".join(f'    {{\n      "name": {dumps(n)},\n      "value": {dumps(v)}\n    }}'
                       for n, v in variables.items())
    return (f'{{\n  "predicted_diabetes_progression": {dumps(y)},\n  "independent_variables": '
            + (f"[\n{items}\n  ]" if items else "[]") + "\n}")


if __name__ == "__main__":
    stage.run(__doc__, infer,
              stage.arg("--model", required=True, metavar="FILE", help="qcontrol's model.json"),
              stage.arg("--attributes", required=True, action="extend", nargs="+", metavar="PATH",
                        help="attribute files or folders"))
