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
    return {
        name: json.dumps({
            "predicted_diabetes_progression": model.predict_one(variables),
            "independent_variables": [{"name": n, "value": v} for n, v in variables.items()],
        }, indent=2)
        for name, variables in attributes.items()
    }


if __name__ == "__main__":
    arguments = stage.parser(__doc__)
    arguments.add_argument("--model", required=True, metavar="FILE", help="qcontrol's model.json")
    arguments.add_argument("--attributes", required=True, action="extend", nargs="+", metavar="PATH",
                           help="attribute files or folders")
    stage.run(arguments, infer)
