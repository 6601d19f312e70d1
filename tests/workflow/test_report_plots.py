"""Each report figure is written as a PNG the Snakemake report can embed."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from helpers import pristine

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import plots  # noqa: E402
from diabetes.data import Model, read_csv  # noqa: E402

DIABETES = pristine("data/diabetes.csv")  # the committed data, not what a user edited


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return read_csv(str(DIABETES))


def is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000


def test_profile(tmp_path, data):
    plots.profile(data, "diabetes.csv", tmp_path / "profile.png")
    assert is_png(tmp_path / "profile.png")


@pytest.mark.parametrize("coefficients", [{"bmi": 949.4}, {"bmi": 675.1, "ltg": 615.0}])
def test_fitted_for_one_or_more_features(tmp_path, data, coefficients):
    plots.fitted(data, Model(152.1, pd.Series(coefficients)), tmp_path / "fitted.png")
    assert is_png(tmp_path / "fitted.png")


def test_residuals(tmp_path, data):
    plots.residuals(data, Model(152.1, pd.Series({"bmi": 675.1, "ltg": 615.0})), tmp_path / "residuals.png")
    assert is_png(tmp_path / "residuals.png")


@pytest.mark.parametrize("history", [[], [("a1b2c3d4e5f60718", 46.4), ("0badc0ffee112233", 47.9)]])
def test_rmse_history(tmp_path, history):
    plots.rmse_history(history, tmp_path / "history.png", threshold=60.0)
    assert is_png(tmp_path / "history.png")
