"""Figures for the Snakemake HTML report of the diabetes regression: the training data's profile
(as the workshop's exploratory notebook), the fitted model, the holdout residuals and the RMSE of
each model that passed qcontrol.

Draws with matplotlib's Agg canvas on a fresh Figure (no pyplot global state), so it runs headless
and in parallel rules. Only the report needs matplotlib; the stage programs never import this.
"""

from __future__ import annotations

import math
import os
from typing import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pachlite import regression
from pachlite.regression import TARGET, Model, Table, read_model, read_table

PathLike = str | os.PathLike
COLUMNS = 4  # panels per row in grids


def _figure(rows: int, cols: int, width: float = 3.2, height: float = 2.6) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(cols * width, rows * height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, list(fig.subplots(rows, cols, squeeze=False).flat)


def _column(table: Table, name: str) -> np.ndarray:
    """The column as an array for plotting arithmetic (regression keeps to plain floats)."""
    return np.asarray(regression.column(table, name))


def _predictions(model: Model, table: Table) -> np.ndarray:
    return model.intercept + sum(c * _column(table, name) for name, c in model.coefficients)


def profile_training(csv: PathLike, out_png: PathLike) -> None:
    """A histogram of every column, then each feature plotted against y."""
    table = read_table(csv)
    y = _column(table, TARGET)
    features = [name for name in table.columns if name != TARGET]
    hist_rows = math.ceil(len(table.columns) / COLUMNS)
    fig, axes = _figure(hist_rows + math.ceil(len(features) / COLUMNS), COLUMNS)
    hists, scatters = axes[: hist_rows * COLUMNS], axes[hist_rows * COLUMNS :]
    for ax, name in zip(hists, table.columns):
        ax.hist(_column(table, name), bins=16, color="tab:blue", alpha=0.8)
        ax.set_title(f"distribution of {name}", fontsize=9)
    for ax, name in zip(scatters, features):
        ax.scatter(_column(table, name), y, s=6, alpha=0.5, color="tab:purple")
        ax.set(xlabel=name, ylabel=TARGET)
        ax.set_title(f"{TARGET} against {name}", fontsize=9)
    for ax in hists[len(table.columns) :] + scatters[len(features) :]:
        ax.set_visible(False)
    fig.suptitle(f"{os.path.basename(csv)}: {len(table.rows)} rows")
    fig.savefig(out_png, dpi=80)


def fitted(csv: PathLike, model: PathLike, out_png: PathLike) -> None:
    """One feature: the data and the fitted line. Several: a partial-residual plot per feature
    (y's residual plus that feature's term against the feature, so its slope is the coefficient)."""
    table, fit = read_table(csv), read_model(model)
    y = _column(table, TARGET)
    residual = y - _predictions(fit, table)
    fig, axes = _figure(1, len(fit.coefficients), width=4.2, height=3.6)
    for ax, (name, coefficient) in zip(axes, fit.coefficients):
        x = _column(table, name)
        line = np.linspace(x.min(), x.max(), 2)
        if len(fit.coefficients) == 1:
            ax.scatter(x, y, s=8, alpha=0.5, label="observed")
            ax.plot(line, fit.intercept + coefficient * line, color="tab:red", label="fitted")
            ax.set(xlabel=name, ylabel=TARGET)
        else:
            ax.scatter(x, residual + coefficient * x, s=8, alpha=0.5, label="residual + term")
            ax.plot(line, coefficient * line, color="tab:red", label=f"{coefficient:.1f} × {name}")
            ax.set(xlabel=name, ylabel=f"partial residual of {TARGET}")
        ax.set_title(f"{name}: coefficient {coefficient:.2f}", fontsize=10)
        ax.legend(fontsize=8)
    terms = " ".join(f"{'-' if c < 0 else '+'} {abs(c):.1f}·{n}" for n, c in fit.coefficients)
    fig.suptitle(f"{TARGET} = {fit.intercept:.1f} {terms}   ({len(table.rows)} rows)")
    fig.savefig(out_png, dpi=80)


def residuals(holdout_csv: PathLike, model: PathLike, out_png: PathLike) -> None:
    """Predicted against observed y on the holdout rows, and the residuals, with their RMSE."""
    table, fit = read_table(holdout_csv), read_model(model)
    y = _column(table, TARGET)
    predicted = _predictions(fit, table)
    error = y - predicted
    rmse = float(np.sqrt(np.mean(error**2)))
    fig, (left, right) = _figure(1, 2, width=4.2, height=3.6)
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


def rmse_history(
    history: Sequence[tuple[str, float]], out_png: PathLike, threshold: float | None = None
) -> None:
    """The RMSE of each model that passed qcontrol, oldest first, labelled by qcontrol commit."""
    fig, (ax,) = _figure(1, 1, width=max(5.0, 0.6 * len(history)), height=3.6)
    if history:
        labels = [commit[:8] for commit, _ in history]
        ax.plot(range(len(history)), [rmse for _, rmse in history], marker="o")
        ax.set_xticks(range(len(history)), labels, rotation=45, ha="right", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no model has passed qcontrol yet", ha="center", va="center", transform=ax.transAxes)
    if threshold is not None:
        ax.axhline(threshold, color="tab:red", linestyle="--", label=f"threshold {threshold:g}")
        ax.legend(fontsize=8)
    ax.set_ylim(bottom=0)  # from zero, so small changes do not look like large ones
    ax.set(xlabel="qcontrol commit", ylabel="holdout RMSE", title="RMSE of each passing model")
    fig.savefig(out_png, dpi=80)
