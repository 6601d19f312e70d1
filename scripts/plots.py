#!/usr/bin/env python3
"""The report's figures, drawn from the versioned results (not from data/): the training data's
profile (as the workshop's exploratory notebook), the fitted model, the holdout residuals and the
RMSE of each model that passed qcontrol.

--training / --holdout are file addresses (repo@branch:/path); --model-repo is the repo whose
commits hold model.json (qcontrol when quality control is on: its models carry their RMSE). The
results are read with the `pachlite` CLI, as a user would. Drawn on matplotlib's Agg canvas with
a fresh Figure each (no pyplot state), so it runs headless.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from diabetes.data import TARGET, Model, read_csv, read_model
from diabetes.stage import StageError
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

COLUMNS = 4  # panels per row in grids


def figure(rows: int, cols: int, width: float = 3.2, height: float = 2.6) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(cols * width, rows * height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, list(fig.subplots(rows, cols, squeeze=False).flat)


def profile(data: pd.DataFrame, title: str, out_png: Path) -> None:
    """A histogram of every column, then each feature plotted against y."""
    features = data.columns.drop(TARGET)
    hist_rows = math.ceil(len(data.columns) / COLUMNS)
    fig, axes = figure(hist_rows + math.ceil(len(features) / COLUMNS), COLUMNS)
    hists, scatters = axes[: hist_rows * COLUMNS], axes[hist_rows * COLUMNS:]
    for ax, name in zip(hists, data.columns):
        ax.hist(data[name], bins=16, color="tab:blue", alpha=0.8)
        ax.set_title(f"distribution of {name}", fontsize=9)
    for ax, name in zip(scatters, features):
        ax.scatter(data[name], data[TARGET], s=6, alpha=0.5, color="tab:purple")
        ax.set(xlabel=name, ylabel=TARGET)
        ax.set_title(f"{TARGET} against {name}", fontsize=9)
    for ax in hists[len(data.columns):] + scatters[len(features):]:
        ax.set_visible(False)
    fig.suptitle(f"{title}: {len(data)} rows")
    fig.savefig(out_png, dpi=80)


def fitted(data: pd.DataFrame, model: Model, out_png: Path) -> None:
    """One feature: the data and the fitted line. Several: a partial-residual plot per feature
    (y's residual plus that feature's term against the feature, so its slope is the coefficient)."""
    y = data[TARGET]
    residual = y - model.predict(data)
    fig, axes = figure(1, len(model.coefficients), width=4.2, height=3.6)
    for ax, (name, coefficient) in zip(axes, model.coefficients.items()):
        x = data[name]
        line = np.linspace(x.min(), x.max(), 2)
        if len(model.coefficients) == 1:
            ax.scatter(x, y, s=8, alpha=0.5, label="observed")
            ax.plot(line, model.intercept + coefficient * line, color="tab:red", label="fitted")
            ax.set(xlabel=name, ylabel=TARGET)
        else:
            ax.scatter(x, residual + coefficient * x, s=8, alpha=0.5, label="residual + term")
            ax.plot(line, coefficient * line, color="tab:red", label=f"{coefficient:.1f} × {name}")
            ax.set(xlabel=name, ylabel=f"partial residual of {TARGET}")
        ax.set_title(f"{name}: coefficient {coefficient:.2f}", fontsize=10)
        ax.legend(fontsize=8)
    terms = " ".join(f"{'-' if c < 0 else '+'} {abs(c):.1f}·{n}" for n, c in model.coefficients.items())
    fig.suptitle(f"{TARGET} = {model.intercept:.1f} {terms}   ({len(data)} rows)")
    fig.savefig(out_png, dpi=80)


def residuals(holdout: pd.DataFrame, model: Model, out_png: Path) -> None:
    """Predicted against observed y on the holdout rows, and the residuals, with their RMSE."""
    y = holdout[TARGET]
    predicted = model.predict(holdout)
    error = y - predicted
    rmse = float(np.sqrt(np.mean(error ** 2)))
    fig, (left, right) = figure(1, 2, width=4.2, height=3.6)
    left.scatter(y, predicted, s=12, alpha=0.7)
    bounds = [min(y.min(), predicted.min()), max(y.max(), predicted.max())]
    left.plot(bounds, bounds, color="grey", linestyle="--", label="perfect prediction")
    left.set(xlabel=f"observed {TARGET}", ylabel=f"predicted {TARGET}", title="predicted against observed")
    left.legend(fontsize=8)
    right.scatter(predicted, error, s=12, alpha=0.7, color="tab:orange")
    right.axhline(0, color="grey", linestyle="--")
    right.set(xlabel=f"predicted {TARGET}", ylabel="observed − predicted", title="residuals")
    fig.suptitle(f"holdout: {len(y)} rows, RMSE {rmse:.2f}")
    fig.savefig(out_png, dpi=80)


def rmse_history(history: list[tuple[str, float]], out_png: Path, threshold: float | None = None) -> None:
    """The RMSE of each model that passed qcontrol, oldest first, labelled by qcontrol commit."""
    fig, (ax,) = figure(1, 1, width=max(5.0, 0.6 * len(history)), height=3.6)
    if history:
        ax.plot(range(len(history)), [rmse for _, rmse in history], marker="o")
        ax.set_xticks(range(len(history)), [commit[:8] for commit, _ in history], rotation=45, ha="right",
                      fontsize=8)
    else:
        ax.text(0.5, 0.5, "no model has passed qcontrol yet", ha="center", va="center", transform=ax.transAxes)
    if threshold is not None:
        ax.axhline(threshold, color="tab:red", linestyle="--", label=f"threshold {threshold:g}")
        ax.legend(fontsize=8)
    ax.set_ylim(bottom=0)  # from zero, so small changes do not look like large ones
    ax.set(xlabel="qcontrol commit", ylabel="holdout RMSE", title="RMSE of each passing model")
    fig.savefig(out_png, dpi=80)


def pachlite(*args: str) -> str:
    p = subprocess.run(["pachlite", *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise StageError(f"pachlite {' '.join(args)}", p.stderr.strip() or f"exited with {p.returncode}",
                         "run the workflow first (snakemake --cores all)")
    return p.stdout


def commit_ids(branch: str) -> list[str]:
    """The branch's commit ids, newest first: `list commit --raw` prints pachctl's JSON, one
    CommitInfo object after another."""
    text, decoder, ids, i = pachlite("list", "commit", branch, "--raw"), json.JSONDecoder(), [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            return ids
        info, i = decoder.raw_decode(text, i)
        ids.append(info["commit"]["id"])


def fetch(address: str, dest: Path) -> str:
    pachlite("get", "file", address, "-o", str(dest))
    return str(dest)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--training", required=True, metavar="ADDRESS")
    ap.add_argument("--holdout", default="", metavar="ADDRESS", help="default: the training rows")
    ap.add_argument("--model-repo", required=True, metavar="REPO")
    ap.add_argument("--threshold", default="", help="qcontrol's, drawn on the RMSE plot")
    ap.add_argument("--out-dir", required=True, metavar="DIR")
    args = ap.parse_args()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            training = read_csv(fetch(args.training, Path(tmp, "training.csv")))
            holdout = read_csv(fetch(args.holdout, Path(tmp, "holdout.csv"))) if args.holdout else training
            model = read_model(fetch(f"{args.model_repo}@master:/model.json", Path(tmp, "model.json")))
            history = []
            for commit in reversed(commit_ids(f"{args.model_repo}@master")):
                rmse = json.loads(pachlite("get", "file", f"{args.model_repo}@{commit}:/model.json")).get("rmse")
                if rmse is not None:
                    history.append((commit, rmse))
        profile(training, args.training, out / "profile.png")
        fitted(training, model, out / "fit.png")
        residuals(holdout, model, out / "residuals.png")
        rmse_history(history, out / "rmse.png", threshold=float(args.threshold) if args.threshold else None)
    except StageError as err:
        print(err, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
