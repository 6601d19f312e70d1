"""The stage scripts as Pachyderm runs them: real processes, outputs in a folder standing in for
/pfs/out, exit status 1 and one stderr line on bad input. The numbers are checked against NumPy
arithmetic written here, not the scripts' own."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import packages_distributions, version
from pathlib import Path

import numpy as np
import pytest

from helpers import pristine

ROOT = Path(__file__).resolve().parents[2]
DIABETES = pristine("data/diabetes.csv")  # the committed data, not what a user edited
ATTRIBUTES = pristine("data/attributes")
STAGES = ["split", "train", "qc_pre_process", "qcontrol", "infer"]


def stage(script: str, *args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / f"{script}.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=60)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stderr
    return result


def failed(result: subprocess.CompletedProcess) -> str:
    """The stage's one-line message, after checking it failed cleanly."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr.strip()


@pytest.fixture(scope="module")
def pfs(tmp_path_factory) -> Path:
    """The tutorial's pipeline run stage by stage: split, model, qc_pre_process, qcontrol, infer."""
    root = tmp_path_factory.mktemp("pfs")
    ok(stage("split", "--in", DIABETES, "--train-rows", 398, "--out-dir", root / "split"))
    ok(stage("train", "--in", root / "split" / "training.csv", "--features", "bmi,ltg", "--out-dir", root / "model"))
    ok(stage("qc_pre_process", "--in", root / "split" / "holdout.csv", "--out-dir", root / "qc_pre_process"))
    ok(stage("qcontrol", "--model", root / "model" / "model.json", "--test-dir", root / "qc_pre_process",
             "--threshold", 60.0, "--out-dir", root / "qcontrol"))
    ok(stage("infer", "--model", root / "qcontrol" / "model.json", "--attributes", ATTRIBUTES,
             "--out-dir", root / "infer"))
    return root


def table(path: Path) -> tuple[list[str], np.ndarray]:
    header = path.read_text().splitlines()[0].split(",")
    return header, np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


def test_split_writes_the_first_rows_and_the_rest_each_with_the_header_as_written(pfs):
    # rows as written, so an unchanged CSV gives unchanged commits (deduplicated)
    lines = DIABETES.read_text().splitlines()
    assert (pfs / "split" / "training.csv").read_text().splitlines() == lines[:399]
    assert (pfs / "split" / "holdout.csv").read_text().splitlines() == lines[:1] + lines[399:]


def test_model_is_the_least_squares_fit_of_the_training_rows(pfs):
    header, data = table(pfs / "split" / "training.csv")
    X = np.column_stack([np.ones(len(data)), data[:, header.index("bmi")], data[:, header.index("ltg")]])
    y = data[:, header.index("y")]
    expected = np.linalg.solve(X.T @ X, X.T @ y)  # the normal equations, not the stage's lstsq
    model = json.loads((pfs / "model" / "model.json").read_text())
    assert list(model) == ["intercept", "coefficients"]
    assert [c["name"] for c in model["coefficients"]] == ["bmi", "ltg"]
    got = [model["intercept"]] + [c["coefficient"] for c in model["coefficients"]]
    assert got == pytest.approx(expected, rel=1e-12)


def test_qc_pre_process_writes_a_record_per_holdout_row(pfs):
    names = sorted(p.name for p in (pfs / "qc_pre_process").iterdir())
    assert names == sorted(f"{n}.json" for n in range(1, 45))
    header, rows = table(pfs / "split" / "holdout.csv")
    last = json.loads((pfs / "qc_pre_process" / "44.json").read_text())
    assert last == {
        "independent_variables": [{"name": n, "value": v} for n, v in zip(header[:-1], rows[-1][:-1])],
        "dependent_variable": rows[-1][-1],
    }


def holdout_rmse(pfs: Path, model: dict) -> float:
    header, data = table(pfs / "split" / "holdout.csv")
    predicted = model["intercept"] + sum(c["coefficient"] * data[:, header.index(c["name"])]
                                         for c in model["coefficients"])
    return float(np.sqrt(np.mean((data[:, header.index("y")] - predicted) ** 2)))


def test_qcontrol_passes_the_model_on_with_its_rmse(pfs):
    trained = json.loads((pfs / "model" / "model.json").read_text())
    passed = json.loads((pfs / "qcontrol" / "model.json").read_text())
    assert list(passed) == ["rmse", "intercept", "coefficients"]
    assert {k: passed[k] for k in trained} == trained
    assert passed["rmse"] == pytest.approx(holdout_rmse(pfs, trained), rel=1e-12)


@pytest.mark.parametrize("threshold", ["40.0", "at the RMSE"])
def test_qcontrol_fails_the_job_at_or_above_the_threshold(pfs, tmp_path, threshold):
    rmse = json.loads((pfs / "qcontrol" / "model.json").read_text())["rmse"]
    threshold = repr(rmse) if threshold == "at the RMSE" else threshold
    message = failed(stage("qcontrol", "--model", pfs / "model" / "model.json", "--test-dir", pfs / "qc_pre_process",
                           "--threshold", threshold, "--out-dir", tmp_path / "out"))
    assert f"RMSE {rmse:.4f}" in message and f"threshold {float(threshold)}" in message
    assert not (tmp_path / "out").exists()


def test_infer_predicts_each_attribute_file(pfs):
    model = json.loads((pfs / "qcontrol" / "model.json").read_text())
    coefficient = {c["name"]: c["coefficient"] for c in model["coefficients"]}
    assert sorted(p.name for p in (pfs / "infer").iterdir()) == ["1.json", "2.json", "3.json"]
    for name in ("1.json", "2.json", "3.json"):
        given = json.loads((ATTRIBUTES / name).read_text())
        out = json.loads((pfs / "infer" / name).read_text())
        assert list(out) == ["predicted_diabetes_progression", "independent_variables"]
        assert out["independent_variables"] == given["independent_variables"]
        expected = model["intercept"] + sum(coefficient[v["name"]] * v["value"] for v in given["independent_variables"])
        assert out["predicted_diabetes_progression"] == pytest.approx(expected, rel=1e-12)


def test_infer_takes_many_files_and_folders_in_one_call(pfs, tmp_path):
    batch = tmp_path / "batch" / "week1"
    batch.mkdir(parents=True)
    (batch / "4.json").write_text((ATTRIBUTES / "3.json").read_text())
    ok(stage("infer", "--model", pfs / "qcontrol" / "model.json", "--attributes", ATTRIBUTES / "1.json",
             ATTRIBUTES / "2.json", "--attributes", tmp_path / "batch", "--out-dir", tmp_path / "out"))
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.json"))
    assert written == ["1.json", "2.json", "week1/4.json"]
    # a file predicts to the same bytes in any batch: a datum's output does not depend on its company
    assert (tmp_path / "out" / "week1" / "4.json").read_bytes() == (pfs / "infer" / "3.json").read_bytes()
    assert (tmp_path / "out" / "1.json").read_bytes() == (pfs / "infer" / "1.json").read_bytes()


def test_infer_writes_what_json_dumps_with_indent_2_writes(pfs, tmp_path):
    # infer builds its output text itself (json's pure-Python indenting encoder was a fifth of a
    # datum's time): byte for byte what json.dumps(..., indent=2) writes, for every row of the
    # data and for names and values that need escaping or an exponent.
    header, rows = table(DIABETES)
    records = [dict(zip(header, row)) for row in rows]
    records += [{"bmi": 1e-300, "ltg": -0.0, 'na"me\\ü': 7.0}, {"bmi": -1e22, "ltg": 5.0}]
    (tmp_path / "in").mkdir()
    for n, values in enumerate(records):
        (tmp_path / "in" / f"{n}.json").write_text(json.dumps(
            {"independent_variables": [{"name": k, "value": float(v)} for k, v in values.items()]}))
    ok(stage("infer", "--model", pfs / "qcontrol" / "model.json", "--attributes", tmp_path / "in",
             "--out-dir", tmp_path / "out"))
    for n in range(len(records)):
        text = (tmp_path / "out" / f"{n}.json").read_text()
        out = json.loads(text)
        assert text == json.dumps(out, indent=2)
        given = json.loads((tmp_path / "in" / f"{n}.json").read_text())
        assert out["independent_variables"] == given["independent_variables"]


def test_infer_fails_on_a_missing_feature_and_writes_nothing(pfs, tmp_path):
    bad = tmp_path / "5.json"
    bad.write_text(json.dumps({"independent_variables": [{"name": "bmi", "value": 0.03}]}))
    message = failed(stage("infer", "--model", pfs / "qcontrol" / "model.json",
                           "--attributes", ATTRIBUTES / "1.json", bad, "--out-dir", tmp_path / "out"))
    assert message.startswith(f"{bad}: has no value for 'ltg'")
    assert 'add {"name": "ltg", "value": <number>}' in message
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "script, content, args, expected",
    [
        ("split", "bmi,ltg,y\n0.1,0.2,x\n0.1,0.3,4\n", ["--train-rows", 1],
         "input:2: column 'y' holds 'x', not a number"),
        ("split", "", [], "input: is empty"),
        ("train", "bmi,y\n0.1,3\n0.2,4\n", ["--features", "bmi,ltg"], "input: has no column 'ltg'"),
        ("train", "bmi,ltg,y\n0.1,0.2,nan\n", [], "input:2: column 'y' holds 'nan', not a finite number"),
        ("train", "bmi,ltg,y\n0.1,0.2,3\n", [], "input: has 1 rows, too few"),
        ("qc_pre_process", "bmi,ltg,y\n0.1,0.2,3\n\n0.1,0.2\n", [], "input:4: column 'y' holds nothing, not a number"),
        ("qc_pre_process", "bmi,ltg,y\n0.1,0.2,3,4\n", [], "input: is not a well-formed CSV"),
    ],
)
def test_bad_csv_fails_with_one_line_and_no_output(tmp_path, script, content, args, expected):
    (tmp_path / "input").write_text(content)
    message = failed(stage(script, "--in", tmp_path / "input", *args, "--out-dir", tmp_path / "out"))
    assert message.startswith(f"{tmp_path}/{expected}")
    assert not (tmp_path / "out").exists()


def test_malformed_model_fails_qcontrol_and_infer(pfs, tmp_path):
    (tmp_path / "model.json").write_text('{"intercept": 1, "coefficients": [')
    for script, args in [("qcontrol", ["--test-dir", pfs / "qc_pre_process"]), ("infer", ["--attributes", ATTRIBUTES])]:
        message = failed(stage(script, "--model", tmp_path / "model.json", *args, "--out-dir", tmp_path / "out"))
        assert message.startswith(f"{tmp_path}/model.json: is not valid JSON")
    assert not (tmp_path / "out").exists()


def pins() -> dict[str, str]:
    lines = (ROOT / "scripts" / "requirements.txt").read_text().splitlines()
    return dict(line.split("==") for line in lines if line and not line.startswith("#"))


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_stage_scripts_import_their_pinned_packages_and_nothing_of_the_engine():
    # what they import beyond the standard library must be in the stage image: its pins
    probe = ("import json, sys; before = set(sys.modules); sys.path.insert(0, 'scripts'); "
             f"import {', '.join(STAGES)}; "
             "new = {m.split('.')[0] for m in set(sys.modules) - before}; "
             "print(json.dumps({m: getattr(sys.modules.get(m), '__file__', None) for m in new}))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    modules = json.loads(result.stdout)
    assert "pachlite" not in modules and {"numpy", "pandas"} <= modules.keys()
    assert modules["diabetes"].startswith(str(ROOT / "scripts"))
    # an installed module's top-level name is the first part of its path below site-packages
    # (pandas registers some of its extensions under names of their own)
    installed = {parts[parts.index(part) + 1].split(".")[0] for file in modules.values() if file
                 for parts in [Path(file).parts] for part in parts if part.endswith("-packages")}
    distributions = {normalized(d) for m in installed for d in packages_distributions().get(m, [m])}
    assert distributions <= {normalized(name) for name in pins()}


def test_this_environment_runs_the_stage_images_pins():
    # local runs equal container runs only on the same versions (README: local and container runs)
    assert {name: version(name) for name in pins()} == pins()


def test_the_engine_imports_nothing_of_the_example():
    probe = ("import importlib, pkgutil, sys, pachlite; "
             "[importlib.import_module(f'pachlite.{m.name}') for m in pkgutil.iter_modules(pachlite.__path__)]; "
             "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT / "tests", capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert result.returncode == 0, result.stderr
    assert not {"diabetes", "numpy", "pandas", "matplotlib"} & set(result.stdout.split())
