#!/usr/bin/env python3
"""Stage `qcontrol`: the model's RMSE over the QC records. Below the threshold, model.json passes on
with an added "rmse"; at or above it, exit 1, so the job fails and infer keeps the last passing model.
"""

from __future__ import annotations

import argparse
import dataclasses
import math

import numpy as np
import pandas as pd
from diabetes import stage
from diabetes.data import files_under, read_model, read_record
from diabetes.stage import StageError


def qcontrol(args: argparse.Namespace) -> dict[str, str]:
    if not (math.isfinite(args.threshold) and args.threshold > 0):
        raise StageError("--threshold", f"is {args.threshold}, not a positive number", "give e.g. --threshold 60.0")
    model = read_model(args.model)
    paths = [path for path, _ in files_under(args.test_dir)]
    if not paths:
        raise StageError(args.test_dir, "holds no QC records", "give the qc_pre_process stage's output folder")
    variables, observed = [], []
    for path in paths:
        x, y = read_record(path, observed=True)
        model.require_features(x, path)
        variables.append(x)
        observed.append(y)
    errors = np.array(observed) - model.predict(pd.DataFrame(variables))
    rmse = float(np.sqrt(np.mean(errors ** 2)))
    if not rmse < args.threshold:
        raise StageError(args.model, f"RMSE {rmse:.4f} on {len(paths)} holdout rows is at or above the "
                         f"threshold {args.threshold}", "the model is not passed on, so infer keeps the last "
                         "model that passed; improve the features or training data, or raise --threshold")
    print(f"RMSE {rmse:.4f} < {args.threshold} on {len(paths)} records: model passed")
    return {"model.json": dataclasses.replace(model, rmse=rmse).to_json()}


if __name__ == "__main__":
    stage.run(__doc__, qcontrol,
              stage.arg("--model", required=True, metavar="FILE", help="the model stage's model.json"),
              stage.arg("--test-dir", required=True, metavar="DIR", help="the qc_pre_process output"),
              stage.arg("--threshold", type=float, default=60.0,
                        help="highest RMSE that fails (default 60.0)"))
