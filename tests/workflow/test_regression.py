"""The workflow's regression (scripts/ and its package diabetes/) as library calls: the tutorials'
published numbers, an exact oracle for the fit, the formats, and the one-line error for each kind
of bad input.

The fit is NumPy's `lstsq`, so its last bits are the LAPACK build's: fitted numbers are compared
with the exact least-squares solution to a relative 1e-12 and with the tutorials' to 1e-6 (they
were printed by Go's gonum). Formats are compared byte for byte: Python's `json.dumps(indent=2)`
writes what the workshop's Go `json.MarshalIndent` wrote, except that Python keeps the ".0" of a
whole number (242.0, not 242).
"""

from __future__ import annotations

import csv
import json
import sys
from argparse import Namespace
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest

from helpers import pristine

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import infer  # noqa: E402  (the stage scripts, by their file names)
import qc_pre_process  # noqa: E402
import qcontrol  # noqa: E402
import split  # noqa: E402
import train  # noqa: E402
from diabetes.data import Model, read_csv, read_model, read_record  # noqa: E402
from diabetes.stage import StageError, write_all  # noqa: E402

DIABETES = pristine("data/diabetes.csv")  # the committed data, not what a user edited
ATTRIBUTES = pristine("data/attributes")
ALL_FEATURES = ["age", "sex", "bmi", "map", "tc", "ldl", "hdl", "tch", "ltg", "glu"]


def coefficients(model: Model) -> dict[str, float]:
    return dict(model.coefficients.items())


def csv_text(text: str, tmp_path: Path) -> str:
    path = tmp_path / "t.csv"
    path.write_text(text)
    return str(path)


# --- the fitted numbers --------------------------------------------------------------------------


def test_bmi_alone_on_all_rows_matches_the_reference_fit():
    model = train.fit(read_csv(str(DIABETES)), ["bmi"], "diabetes.csv")
    assert model.intercept == pytest.approx(152.13348416289818, abs=1e-6)
    assert coefficients(model) == {"bmi": pytest.approx(949.4352603839862, abs=1e-6)}


def test_bmi_and_ltg_on_all_rows_match_pach_go_regression():
    # dwhitena/pach-go-regression README: its model.json and its prediction for data/test/1.json
    model = train.fit(read_csv(str(DIABETES)), ["bmi", "ltg"], "diabetes.csv")
    assert model.intercept == pytest.approx(152.13348416289583, abs=1e-6)
    assert coefficients(model) == {
        "bmi": pytest.approx(675.069774431606, abs=1e-6),
        "ltg": pytest.approx(614.9505047824742, abs=1e-6),
    }
    variables, _ = read_record(str(ATTRIBUTES / "1.json"))
    assert model.predict(pd.DataFrame([variables]))[0] == pytest.approx(206.02542184806308, abs=1e-6)


def exact_least_squares(columns, y) -> list[float]:
    """The least-squares solution in exact rationals (normal equations, Gauss-Jordan), rounded once."""
    X, Y = [[Fraction(v) for v in c] for c in columns], [Fraction(v) for v in y]
    rows = [[sum(a * b for a, b in zip(u, w)) for w in X] + [sum(a * b for a, b in zip(u, Y))] for u in X]
    for i in range(len(rows)):
        for r in range(len(rows)):
            if r != i:
                f = rows[r][i] / rows[i][i]
                rows[r] = [a - f * b for a, b in zip(rows[r], rows[i])]
    return [float(row[-1] / row[i]) for i, row in enumerate(rows)]


@pytest.mark.parametrize("features", [["bmi"], ["bmi", "ltg"], ALL_FEATURES])
def test_fit_is_the_exact_least_squares_solution_to_rounding(features):
    data = read_csv(str(DIABETES))
    expected = exact_least_squares([[1.0] * len(data)] + [data[f].tolist() for f in features], data["y"].tolist())
    model = train.fit(data, features, "diabetes.csv")
    assert [model.intercept, *coefficients(model).values()] == pytest.approx(expected, rel=1e-12, abs=0)


def test_a_row_predicts_to_the_same_bits_alone_or_in_a_batch():
    data = read_csv(str(DIABETES))
    model = train.fit(data, ALL_FEATURES, "diabetes.csv")
    together = model.predict(data)
    alone = [model.predict(data.iloc[[i]]).iloc[0] for i in (0, 7, 441)]
    assert alone == [together[0], together[7], together[441]]
    # infer predicts one record with plain floats (predict_one): the same bits again
    records = [{k: float(v) for k, v in data.iloc[i].items()} for i in range(len(data))]
    assert [model.predict_one(r) for r in records] == list(together)


WORKSHOP_QC_MODEL = """{
  "rmse": 46.44507083538092,
  "intercept": 152.38005026421627,
  "coefficients": [
    {
      "name": "bmi",
      "coefficient": 670.4022409970744
    },
    {
      "name": "ltg",
      "coefficient": 593.7168799545466
    }
  ]
}"""

WORKSHOP_INFER_1 = """{
  "predicted_diabetes_progression": 205.56129090286984,
  "independent_variables": [
    {
      "name": "bmi",
      "value": 0.0616962065187
    },
    {
      "name": "ltg",
      "value": 0.0199084208763
    }
  ]
}"""


@pytest.fixture(scope="module")
def workshop_csv(tmp_path_factory) -> Path:
    """diabetes.csv as the workshop's notebook rewrote it: gota's WriteCSV prints floats with %f."""
    rows = list(csv.reader(DIABETES.open()))
    path = tmp_path_factory.mktemp("workshop") / "diabetes.csv"
    lines = [",".join(rows[0])] + [",".join(f"{float(cell):f}" for cell in row) for row in rows[1:]]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def workshop(workshop_csv, tmp_path_factory) -> Path:
    """The workshop's stages up to qc_pre_process, on its CSV."""
    out = tmp_path_factory.mktemp("pfs")
    write_all(str(out / "split"), split.split(Namespace(in_file=str(workshop_csv), train_rows=398)))
    write_all(str(out / "model"), train.train(Namespace(in_file=str(out / "split" / "training.csv"),
                                                        features="bmi,ltg")))
    write_all(str(out / "qc_pre"), qc_pre_process.qc_pre_process(Namespace(in_file=str(out / "split" / "holdout.csv"))))
    return out


def test_split_train_qcontrol_infer_reproduce_the_workshop(workshop, tmp_path):
    # ardanlabs/training-ai ml_workflow/exercise3/README.md: qcontrol's model.json and infer's 1.json
    passed = qcontrol.qcontrol(Namespace(model=str(workshop / "model" / "model.json"),
                                         test_dir=str(workshop / "qc_pre"), threshold=60.0))
    got = json.loads(passed["model.json"])
    expected = json.loads(WORKSHOP_QC_MODEL)
    assert list(got) == list(expected)
    assert got["rmse"] == pytest.approx(expected["rmse"], abs=1e-6)
    assert got["intercept"] == pytest.approx(expected["intercept"], abs=1e-6)
    assert got["coefficients"] == [
        {"name": c["name"], "coefficient": pytest.approx(c["coefficient"], abs=1e-6)}
        for c in expected["coefficients"]
    ]
    write_all(str(tmp_path / "qcontrol"), passed)
    predicted = infer.infer(Namespace(model=str(tmp_path / "qcontrol" / "model.json"),
                                      attributes=[str(ATTRIBUTES / "1.json")]))
    assert json.loads(predicted["1.json"])["predicted_diabetes_progression"] == pytest.approx(
        205.56129090286984, abs=1e-6)


def test_the_workshops_own_model_gives_its_qcontrol_and_infer_output_byte_for_byte(workshop, tmp_path):
    published = json.loads(WORKSHOP_QC_MODEL)
    del published["rmse"]
    (tmp_path / "published.json").write_text(json.dumps(published))
    qc = qcontrol.qcontrol(Namespace(model=str(tmp_path / "published.json"), test_dir=str(workshop / "qc_pre"),
                                     threshold=60.0))
    assert qc["model.json"] == WORKSHOP_QC_MODEL
    (tmp_path / "model.json").write_text(WORKSHOP_QC_MODEL)
    out = infer.infer(Namespace(model=str(tmp_path / "model.json"), attributes=[str(ATTRIBUTES)]))
    assert out["1.json"] == WORKSHOP_INFER_1
    assert sorted(out) == ["1.json", "2.json", "3.json"]
    assert len(out["2.json"].encode()) == 222  # as the workshop's `list-file infer master`


# --- formats -------------------------------------------------------------------------------------


def test_model_json_is_the_workshops_format(tmp_path):
    (tmp_path / "model.json").write_text(WORKSHOP_QC_MODEL)
    model = read_model(str(tmp_path / "model.json"))
    assert model.to_json() == WORKSHOP_QC_MODEL
    # the model stage's file has no rmse: the workshop lists it as 207 bytes
    assert len(Model(model.intercept, model.coefficients).to_json().encode()) == 207


def test_qc_pre_process_writes_one_record_per_row_named_from_1(workshop):
    files = sorted((workshop / "qc_pre").iterdir(), key=lambda p: int(p.stem))
    assert [p.name for p in files] == [f"{n}.json" for n in range(1, 45)]
    header, *rows = list(csv.reader((workshop / "split" / "holdout.csv").open()))
    first = json.loads(files[0].read_text())
    assert list(first) == ["independent_variables", "dependent_variable"]
    assert first["independent_variables"] == [
        {"name": name, "value": float(cell)} for name, cell in zip(header[:-1], rows[0][:-1])
    ]
    assert first["dependent_variable"] == float(rows[0][-1])
    assert files[0].read_text().endswith('"dependent_variable": 242.0\n}')  # the workshop's Go wrote 242


def test_split_keeps_rows_in_order_and_as_written():
    out = split.split(Namespace(in_file=str(DIABETES), train_rows=398))
    lines = DIABETES.read_text().splitlines()
    assert out["training.csv"].splitlines() == lines[:399]
    assert out["holdout.csv"].splitlines() == lines[:1] + lines[399:]


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, where, problem",
    [
        ("", "", "is empty"),
        ("bmi,y\n", "", "no data rows"),
        ("bmi,y\n\n", "", "no data rows"),
        ("bmi,y\n0.1,2\n0.2\n", ":3", "column 'y' holds nothing, not a number"),
        ("bmi,y\n0.1,abc\n", ":2", "column 'y' holds 'abc', not a number"),
        ("bmi,y\n0.1,NaN\n", ":2", "column 'y' holds 'NaN', not a finite number"),
        ("bmi,y\n0.1,inf\n", ":2", "not a finite number"),
        ("bmi,y\n0.1,1e999\n", ":2", "column 'y' holds '1e999', not a finite number"),
        ("bmi,y\n\n\n,1\n", ":4", "column 'bmi' holds nothing, not a number"),
        ("bmi,bmi,y\n1,2,3\n", ":1", "names column(s) bmi more than once"),
        ("bmi,,y\n1,2,3\n", ":1", "has an empty column name"),
        ("bmi,y\n1,2,3\n", "",
         "is not a well-formed CSV (Error tokenizing data. C error: Expected 2 fields in line 2, saw 3)"),
        ('bmi,y\n"0.1,2\n', "", "is not a well-formed CSV"),
    ],
)
def test_bad_csv_is_one_line_naming_file_line_problem_and_fix(tmp_path, text, where, problem):
    path = csv_text(text, tmp_path)
    with pytest.raises(StageError) as caught:
        read_csv(path)
    message = str(caught.value)
    assert message.startswith(f"{path}{where}: ") and problem in message
    assert "; " in message and "\n" not in message


def test_a_csv_with_blank_lines_reads_its_rows(tmp_path):
    data = read_csv(csv_text("\ufeffbmi,y\n0.1,2\n\n0.2,3\n", tmp_path))  # a BOM, as Excel writes
    assert list(data.columns) == ["bmi", "y"] and data.to_numpy().tolist() == [[0.1, 2.0], [0.2, 3.0]]


def test_missing_column_names_the_columns_there_are(tmp_path):
    data = read_csv(csv_text("bmi,y\n0.1,2\n0.2,3\n0.3,5\n", tmp_path))
    with pytest.raises(StageError, match=r"^t.csv: has no column 'ltg' \(it has: bmi, y\); add the column"):
        train.fit(data, ["bmi", "ltg"], "t.csv")
    with pytest.raises(StageError, match="has no column 'y'.*add the 'y' column"):
        train.fit(read_csv(csv_text("bmi,ltg\n1,2\n", tmp_path)), ["bmi"], "t.csv")


def test_too_few_rows_or_dependent_features_cannot_fit(tmp_path):
    two_rows = read_csv(csv_text("bmi,ltg,y\n0.1,0.2,1\n0.3,0.1,2\n", tmp_path))
    with pytest.raises(StageError, match="has 2 rows, too few to fit 2 feature.*need at least 3"):
        train.fit(two_rows, ["bmi", "ltg"], "t.csv")
    # total = bmi + ltg in decimal, so only to rounding in binary; nudged = total but one row off by 1e-9
    dependent = read_csv(csv_text(
        "bmi,ltg,total,nudged,twice,flat,y\n"
        "0.1,0.2,0.3,0.3,0.2,7,1\n0.2,0.7,0.9,0.9,0.4,7,3\n0.3,0.1,0.4,0.4,0.6,7,2\n"
        "0.4,0.5,0.9,0.900000001,0.8,7,5\n0.6,0.3,0.9,0.9,1.2,7,4\n", tmp_path))
    for features in (["bmi", "twice"], ["flat", "bmi"], ["bmi", "ltg", "total"]):  # a constant is the intercept's
        with pytest.raises(StageError, match="linearly dependent.*drop the redundant feature"):
            train.fit(dependent, features, "t.csv")
    # independent, though nearly not
    assert len(train.fit(dependent, ["bmi", "ltg", "nudged"], "t.csv").coefficients) == 3


@pytest.mark.parametrize(
    "text, problem",
    [(" , ", "no features given"), ("bmi,bmi", "names bmi twice"), ("bmi,y", "includes 'y'")],
)
def test_bad_feature_lists_are_refused(text, problem):
    with pytest.raises(StageError, match=f"^--features: {problem}"):
        train.parse_features(text)


def test_split_needs_rows_on_both_sides(tmp_path):
    with pytest.raises(StageError, match="cannot keep 2 of its 2 rows.*between 1 and 1"):
        split.split(Namespace(in_file=csv_text("bmi,y\n1,2\n3,4\n", tmp_path), train_rows=2))


@pytest.mark.parametrize(
    "text, problem",
    [
        ("{", "is not valid JSON"),
        ('{"intercept": NaN, "coefficients": []}', "is not valid JSON (NaN is not a number JSON allows"),
        ('{"coefficients": []}', 'has no "intercept"'),
        ('{"intercept": 1}', "has no 'coefficients' list"),
        ('{"intercept": 1, "coefficients": []}', 'empty "coefficients"'),
        ('{"intercept": "1", "coefficients": [{"name": "bmi", "coefficient": 2}]}',
         'intercept is "1", not a finite number'),
        ('{"intercept": 1, "coefficients": [{"name": "bmi", "coefficient": true}]}', "coefficient is true"),
        ('{"intercept": 1, "coefficients": [{"name": "bmi"}]}', "has no 'coefficient'"),
        ('{"intercept": 1, "coefficients": [{"name": "bmi", "coefficient": 1}, {"name": "bmi", "coefficient": 2}]}',
         "names 'bmi' twice"),
        ('{"intercept": 1e999, "coefficients": [{"name": "bmi", "coefficient": 2}]}', "intercept is Infinity"),
    ],
)
def test_bad_model_json_is_refused(tmp_path, text, problem):
    (tmp_path / "model.json").write_text(text)
    with pytest.raises(StageError) as caught:
        read_model(str(tmp_path / "model.json"))
    assert str(caught.value).startswith(f"{tmp_path}/model.json: ") and problem in str(caught.value)


def test_a_rewritten_model_is_read_again_in_the_same_process(tmp_path):
    # A warm worker keeps read_model's cache across datums: a model.json rewritten in place, the
    # same size (and maybe within one clock tick), must not be missed.
    path = tmp_path / "model.json"
    path.write_text('{"intercept": 1, "coefficients": [{"name": "bmi", "coefficient": 2}]}')
    assert read_model(str(path)).intercept == 1
    path.write_text('{"intercept": 7, "coefficients": [{"name": "bmi", "coefficient": 3}]}')
    assert (read_model(str(path)).intercept, read_model(str(path)).coefficients["bmi"]) == (7, 3)


def test_json_inputs_read_as_text_editors_write_them_and_refuse_what_is_not_text(tmp_path):
    # A BOM and Windows line ends, as Notepad saves a file, read as the same record.
    (tmp_path / "win.json").write_bytes(
        b'\xef\xbb\xbf{\r\n "independent_variables": [{"name": "bmi", "value": 0.25}]\r\n}\r\n')
    assert read_record(str(tmp_path / "win.json")) == ({"bmi": 0.25}, None)
    (tmp_path / "latin1.json").write_bytes('{"independent_variables": [{"name": "b\u00e9", "value": 1}]}'
                                           .encode("latin-1"))
    with pytest.raises(StageError, match=r"latin1.json: is not UTF-8 text; give a CSV or JSON text file"):
        read_record(str(tmp_path / "latin1.json"))
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(StageError, match="folder.json: is a directory, not a file"):
        read_record(str(tmp_path / "folder.json"))


def test_infer_takes_an_attribute_file_or_a_folder_given_with_a_trailing_slash(tmp_path):
    (tmp_path / "model.json").write_text(WORKSHOP_QC_MODEL)
    (tmp_path / "in" / "sub").mkdir(parents=True)
    record = (ATTRIBUTES / "1.json").read_text()
    (tmp_path / "in" / "1.json").write_text(record)
    (tmp_path / "in" / "sub" / "2.json").write_text(record)
    model = str(tmp_path / "model.json")
    alone = infer.infer(Namespace(model=model, attributes=[str(tmp_path / "in" / "1.json")]))
    folder = infer.infer(Namespace(model=model, attributes=[str(tmp_path / "in") + "/"]))
    assert list(alone) == ["1.json"] and sorted(folder) == ["1.json", "sub/2.json"]
    assert folder["1.json"] == folder["sub/2.json"] == alone["1.json"]


def test_qc_record_needs_its_observed_value(tmp_path):
    (tmp_path / "7.json").write_text('{"independent_variables": [{"name": "bmi", "value": 0.1}]}')
    with pytest.raises(StageError, match='7.json: has no "dependent_variable"'):
        read_record(str(tmp_path / "7.json"), observed=True)


def test_a_feature_missing_from_the_attributes_fails_instead_of_counting_as_zero(tmp_path):
    (tmp_path / "model.json").write_text(WORKSHOP_QC_MODEL)
    (tmp_path / "4.json").write_text('{"independent_variables": [{"name": "bmi", "value": 0.1}]}')
    with pytest.raises(StageError) as caught:
        infer.infer(Namespace(model=str(tmp_path / "model.json"), attributes=[str(tmp_path / "4.json")]))
    assert str(caught.value) == (
        f"{tmp_path}/4.json: has no value for 'ltg', which the model uses (the file has: bmi); "
        'add {"name": "ltg", "value": <number>} to its independent_variables, '
        "or retrain the model without 'ltg'"
    )


def test_missing_input_files_name_the_path_and_where_pachyderm_mounts_inputs(tmp_path):
    with pytest.raises(StageError, match="nope.csv: no such file; check the path; in a pipeline"):
        read_csv(str(tmp_path / "nope.csv"))
    (tmp_path / "model.json").write_text(WORKSHOP_QC_MODEL)
    with pytest.raises(StageError, match="missing: no such file or directory"):
        infer.infer(Namespace(model=str(tmp_path / "model.json"), attributes=[str(tmp_path / "missing")]))
    with pytest.raises(StageError, match="is a directory, not a file"):
        read_csv(str(tmp_path))


def test_qcontrol_refuses_an_empty_test_folder_and_a_threshold_that_is_not_positive(tmp_path):
    (tmp_path / "model.json").write_text(WORKSHOP_QC_MODEL)
    (tmp_path / "qc").mkdir()
    with pytest.raises(StageError, match="holds no QC records"):
        qcontrol.qcontrol(Namespace(model=str(tmp_path / "model.json"), test_dir=str(tmp_path / "qc"), threshold=60.0))
    with pytest.raises(StageError, match="^--threshold: is nan, not a positive number"):
        qcontrol.qcontrol(Namespace(model=str(tmp_path / "model.json"), test_dir=str(tmp_path / "qc"),
                                    threshold=float("nan")))


def test_infer_refuses_two_inputs_with_one_output_name(tmp_path):
    (tmp_path / "model.json").write_text(WORKSHOP_QC_MODEL)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "1.json").write_text((ATTRIBUTES / "1.json").read_text())
    with pytest.raises(StageError, match="would write 1.json that .* writes too"):
        infer.infer(Namespace(model=str(tmp_path / "model.json"),
                              attributes=[str(ATTRIBUTES / "1.json"), str(tmp_path / "other")]))


# --- writing -------------------------------------------------------------------------------------


def test_write_all_writes_every_file_or_none(tmp_path):
    (tmp_path / "blocked").write_text("a file where a folder is needed")
    with pytest.raises(StageError, match="cannot write outputs"):
        write_all(str(tmp_path), {"a.json": "{}", "blocked/b.json": "{}"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked"]  # no a.json, no temporary file

    write_all(str(tmp_path / "out"), {"a.json": "{}", "sub/b.json": "[]"})
    assert (tmp_path / "out" / "a.json").read_text() == "{}"
    assert (tmp_path / "out" / "sub" / "b.json").read_text() == "[]"
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == ["a.json", "b.json", "sub"]
