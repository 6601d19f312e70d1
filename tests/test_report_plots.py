"""Each report figure is written as a PNG the Snakemake report can embed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pachlite import report_plots

ROOT = Path(__file__).resolve().parents[1]
DIABETES = ROOT / "data" / "diabetes.csv"


def is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000


def model(tmp_path: Path, coefficients: dict[str, float]) -> Path:
    path = tmp_path / "model.json"
    path.write_text(json.dumps({
        "intercept": 152.1, "coefficients": [{"name": n, "coefficient": c} for n, c in coefficients.items()]
    }))
    return path


def test_profile_training(tmp_path):
    report_plots.profile_training(DIABETES, tmp_path / "profile.png")
    assert is_png(tmp_path / "profile.png")


@pytest.mark.parametrize("coefficients", [{"bmi": 949.4}, {"bmi": 675.1, "ltg": 615.0}])
def test_fitted_for_one_or_more_features(tmp_path, coefficients):
    report_plots.fitted(DIABETES, model(tmp_path, coefficients), tmp_path / "fitted.png")
    assert is_png(tmp_path / "fitted.png")


def test_residuals(tmp_path):
    report_plots.residuals(DIABETES, model(tmp_path, {"bmi": 675.1, "ltg": 615.0}), tmp_path / "residuals.png")
    assert is_png(tmp_path / "residuals.png")


@pytest.mark.parametrize("history", [[], [("a1b2c3d4e5f60718", 46.4), ("0badc0ffee112233", 47.9)]])
def test_rmse_history(tmp_path, history):
    report_plots.rmse_history(history, tmp_path / "history.png", threshold=60.0)
    assert is_png(tmp_path / "history.png")
