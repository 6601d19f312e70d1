#!/usr/bin/env python3
"""Stage `model`: ordinary least squares of y on the features -> model.json.

model.json is the workshop's: {"intercept": ..., "coefficients": [{"name": ..., "coefficient": ...}]}.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from diabetes import stage
from diabetes.data import TARGET, Model, read_csv, require_columns
from diabetes.stage import StageError


def parse_features(text: str) -> list[str]:
    """`bmi,ltg` -> ["bmi", "ltg"]."""
    features = [name.strip() for name in text.split(",") if name.strip()]
    if not features:
        raise StageError("--features", "no features given", "name them, e.g. --features bmi,ltg")
    repeated = sorted({f for f in features if features.count(f) > 1})
    if repeated:
        raise StageError("--features", f"names {', '.join(repeated)} twice", "list each feature once")
    if TARGET in features:
        raise StageError("--features", f"includes {TARGET!r}, the value being predicted",
                         f"remove {TARGET!r} from the features")
    return features


def fit(data: pd.DataFrame, features: list[str], where: str) -> Model:
    """Ordinary least squares of y on `features` plus an intercept."""
    require_columns(data, [*features, TARGET], where)
    if len(data) < len(features) + 1:
        raise StageError(where, f"has {len(data)} rows, too few to fit {len(features)} feature(s) and an "
                         f"intercept (need at least {len(features) + 1})", "add training rows or use fewer features")
    X = np.column_stack([np.ones(len(data)), data[features].to_numpy()])
    beta, _, rank, _ = np.linalg.lstsq(X, data[TARGET].to_numpy(), rcond=None)
    if rank < X.shape[1]:
        raise StageError(where, f"features {', '.join(features)} are linearly dependent here (a constant "
                         "column, or one feature a combination of others), so the fit is not unique",
                         "drop the redundant feature or add varied rows")
    return Model(float(beta[0]), pd.Series(beta[1:], index=features))


def train(args: argparse.Namespace) -> dict[str, str]:
    data = read_csv(args.in_file)
    model = fit(data, parse_features(args.features), args.in_file)
    terms = " ".join(f"{'-' if c < 0 else '+'} {abs(c):.4f}*{name}" for name, c in model.coefficients.items())
    print(f"fit on {len(data)} rows of {args.in_file}: {TARGET} = {model.intercept:.4f} {terms}")
    return {"model.json": model.to_json()}


if __name__ == "__main__":
    stage.run(__doc__, train,
              stage.arg("--in", dest="in_file", required=True, metavar="FILE", help="the training CSV"),
              stage.arg("--features", default="bmi,ltg", help="comma-separated columns (default bmi,ltg)"))
