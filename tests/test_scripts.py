"""The stage programs as Pachyderm runs them: real processes, `src` on PYTHONPATH, outputs in a
folder standing in for /pfs/out, exit status 1 and one stderr line on bad input.

They run with `python -S` (no site-packages), as in a bare python3 image: an import of anything
beyond the standard library fails them here before it fails in the container."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DIABETES = ROOT / "data" / "diabetes.csv"
ATTRIBUTES = ROOT / "data" / "attributes"


OTHER_PYTHON = Path("/usr/bin/python3")  # the system interpreter, as the stage image's


def stage(script: str, *args: object, python: str | Path = sys.executable) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [str(python), "-S", str(ROOT / "scripts" / f"{script}.py"), *map(str, args)],
        env=env, capture_output=True, text=True, timeout=60,
    )


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


def test_split_writes_training_and_holdout_with_the_header(pfs):
    original = list(csv.reader(DIABETES.open()))
    training = list(csv.reader((pfs / "split" / "training.csv").open()))
    holdout = list(csv.reader((pfs / "split" / "holdout.csv").open()))
    assert training[0] == holdout[0] == original[0]
    assert (len(training) - 1, len(holdout) - 1) == (398, 44)
    assert training[1:] + holdout[1:] == original[1:]


def test_qc_pre_process_writes_a_record_per_holdout_row(pfs):
    names = sorted(p.name for p in (pfs / "qc_pre_process").iterdir())
    assert names == sorted(f"{n}.json" for n in range(1, 45))
    header, *rows = list(csv.reader((pfs / "split" / "holdout.csv").open()))
    last = json.loads((pfs / "qc_pre_process" / "44.json").read_text())
    assert last == {
        "independent_variables": [{"name": n, "value": float(v)} for n, v in zip(header[:-1], rows[-1][:-1])],
        "dependent_variable": float(rows[-1][-1]),
    }


def holdout_rmse(pfs: Path, model: dict) -> float:
    data = np.loadtxt(pfs / "split" / "holdout.csv", delimiter=",", skiprows=1)
    header = (pfs / "split" / "holdout.csv").read_text().splitlines()[0].split(",")
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
    assert (json.loads((tmp_path / "out" / "week1" / "4.json").read_text())
            == json.loads((pfs / "infer" / "3.json").read_text()))


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
        ("split", "bmi,ltg,y\n0.1,0.2,x\n0.1,0.3,4\n", ["--train-rows", 1], "input:2: column 'y' holds 'x', not a number"),
        ("split", "", [], "input: is empty"),
        ("train", "bmi,y\n0.1,3\n0.2,4\n", ["--features", "bmi,ltg"], "input: has no column 'ltg'"),
        ("train", "bmi,ltg,y\n0.1,0.2,nan\n", [], "input:2: column 'y' holds 'nan', not a finite number"),
        ("train", "bmi,ltg,y\n0.1,0.2,3\n", [], "input: has 1 rows, too few"),
        ("qc_pre_process", "bmi,ltg,y\n0.1,0.2\n", [], "input:2: has 2 value(s) but the header names 3 columns"),
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


def test_stage_programs_import_only_the_standard_library():
    # numpy's lstsq rounds differently per build (and pandas alone costs ~0.8 s per datum)
    probe = (
        "import sys; sys.path.insert(0, 'scripts'); import split, train, qc_pre_process, qcontrol, infer; "
        "print(sorted({m.split('.')[0] for m in sys.modules} - sys.stdlib_module_names"
        " - {'__main__', 'pachlite', 'split', 'train', 'qc_pre_process', 'qcontrol', 'infer'}))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, "-S", "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.skipif(
    not OTHER_PYTHON.exists() or OTHER_PYTHON.resolve() == Path(sys.executable).resolve(),
    reason=f"no second interpreter at {OTHER_PYTHON}",
)
@pytest.mark.parametrize("data, features", [("all", "bmi,ltg"), ("all", "age,sex,bmi,map,tc,ldl,hdl,tch,ltg,glu"),
                                            ("training", "bmi,ltg")])
def test_model_json_is_byte_identical_under_another_python(pfs, tmp_path, data, features):
    # a container's outputs must equal a local run's byte for byte, whatever the interpreter
    rows = DIABETES if data == "all" else pfs / "split" / "training.csv"
    for python, out in [(sys.executable, "here"), (OTHER_PYTHON, "other")]:
        ok(stage("train", "--in", rows, "--features", features, "--out-dir", tmp_path / out, python=python))
    assert (tmp_path / "here" / "model.json").read_bytes() == (tmp_path / "other" / "model.json").read_bytes()
