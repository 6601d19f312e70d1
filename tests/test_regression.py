"""The regression stages as library calls: the tutorials' published numbers and formats, and the
one-line error for each kind of bad input."""

from __future__ import annotations

import csv
import json
from fractions import Fraction
from pathlib import Path

import pytest

from pachlite.errors import InvalidInput, NotFound, PachliteError
from pachlite.regression import (
    Model,
    column,
    fit,
    go_json,
    least_squares,
    model_json,
    parse_features,
    parse_model,
    parse_record,
    parse_table,
    predict,
    read_table,
    run_infer,
    run_qc_pre_process,
    run_qcontrol,
    run_split,
    run_train,
    split_table,
    write_outputs,
)

ROOT = Path(__file__).resolve().parents[1]
DIABETES = ROOT / "data" / "diabetes.csv"
ATTRIBUTES = ROOT / "data" / "attributes"


def coefficients(model: Model) -> dict[str, float]:
    return dict(model.coefficients)


# --- the fitted numbers --------------------------------------------------------------------------


def test_bmi_alone_on_all_rows_matches_the_reference_fit():
    model = fit(read_table(DIABETES), ["bmi"])
    assert model.intercept == pytest.approx(152.13348416289818, abs=1e-6)
    assert coefficients(model) == {"bmi": pytest.approx(949.4352603839862, abs=1e-6)}


def test_bmi_and_ltg_on_all_rows_match_pach_go_regression():
    # dwhitena/pach-go-regression README: its model.json and its prediction for data/test/1.json
    model = fit(read_table(DIABETES), ["bmi", "ltg"])
    assert model.intercept == pytest.approx(152.13348416289583, abs=1e-6)
    assert coefficients(model) == {
        "bmi": pytest.approx(675.069774431606, abs=1e-6),
        "ltg": pytest.approx(614.9505047824742, abs=1e-6),
    }
    record = parse_record((ATTRIBUTES / "1.json").read_text(), "1.json", dependent=False)
    assert predict(model, record) == pytest.approx(206.02542184806308, abs=1e-6)


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


@pytest.mark.parametrize("features", [["bmi"], ["bmi", "ltg"], ["age", "sex", "bmi", "map", "tc", "ldl", "hdl",
                                                                  "tch", "ltg", "glu"]])
def test_fit_is_the_exact_least_squares_solution_to_rounding(features):
    table = read_table(DIABETES)
    y = column(table, "y")
    expected = exact_least_squares([(1.0,) * len(y)] + [column(table, f) for f in features], y)
    model = fit(table, features)
    assert [model.intercept, *coefficients(model).values()] == pytest.approx(expected, rel=1e-13, abs=0)


@pytest.mark.parametrize("scale", [2.0**-600, 2.0**600])
def test_a_feature_in_tiny_or_huge_units_fits_to_the_same_bits(scale):
    # power-of-two units change no rounding, so the coefficient moves by exactly the unit: nothing
    # underflows or overflows (squares of 1e180 would, unscaled)
    table = read_table(DIABETES)
    y, bmi, ltg = column(table, "y"), column(table, "bmi"), column(table, "ltg")
    plain = least_squares([(1.0,) * len(y), bmi, ltg], y)
    scaled = least_squares([(1.0,) * len(y), [v * scale for v in bmi], ltg], y)
    assert scaled == [plain[0], plain[1] / scale, plain[2]]


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
    lines = [",".join(rows[0])] + [",".join("%f" % float(cell) for cell in row) for row in rows[1:]]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_split_train_qcontrol_infer_reproduce_the_workshop(workshop_csv, tmp_path):
    # ardanlabs/training-ai ml_workflow/exercise3/README.md: qcontrol's model.json and infer's 1.json
    write_outputs(tmp_path / "split", run_split(str(workshop_csv), 398).files)
    write_outputs(tmp_path / "model", run_train(str(tmp_path / "split" / "training.csv"), ["bmi", "ltg"]).files)
    write_outputs(tmp_path / "qc_pre", run_qc_pre_process(str(tmp_path / "split" / "holdout.csv")).files)
    passed = run_qcontrol(str(tmp_path / "model" / "model.json"), str(tmp_path / "qc_pre"), 60.0)

    got = json.loads(passed.files["model.json"])
    expected = json.loads(WORKSHOP_QC_MODEL)
    assert got["rmse"] == pytest.approx(expected["rmse"], abs=1e-6)
    assert got["intercept"] == pytest.approx(expected["intercept"], abs=1e-6)
    assert got["coefficients"] == [
        {"name": c["name"], "coefficient": pytest.approx(c["coefficient"], abs=1e-6)}
        for c in expected["coefficients"]
    ]
    # the workshop's own model, checked against the same holdout, gives its qcontrol output exactly
    published = Model(expected["intercept"], tuple((c["name"], c["coefficient"]) for c in expected["coefficients"]))
    (tmp_path / "published.json").write_text(model_json(published))
    qc = run_qcontrol(str(tmp_path / "published.json"), str(tmp_path / "qc_pre"), 60.0)
    assert qc.files["model.json"] == WORKSHOP_QC_MODEL

    write_outputs(tmp_path / "qcontrol", passed.files)
    predicted = run_infer(str(tmp_path / "qcontrol" / "model.json"), [str(ATTRIBUTES / "1.json")])
    assert json.loads(predicted.files["1.json"])["predicted_diabetes_progression"] == pytest.approx(
        205.56129090286984, abs=1e-6
    )


# --- formats -------------------------------------------------------------------------------------


def test_model_json_is_byte_identical_to_the_workshop_output():
    model = parse_model(WORKSHOP_QC_MODEL, "model.json")
    assert model_json(model) == WORKSHOP_QC_MODEL
    # the model stage's file has no rmse: the workshop lists it as 207 bytes
    assert len(model_json(Model(model.intercept, model.coefficients)).encode()) == 207


def test_infer_output_is_byte_identical_to_the_workshop_output(tmp_path):
    (tmp_path / "model.json").write_text(WORKSHOP_QC_MODEL)
    out = run_infer(str(tmp_path / "model.json"), [str(ATTRIBUTES)])
    assert out.files["1.json"] == WORKSHOP_INFER_1
    assert sorted(out.files) == ["1.json", "2.json", "3.json"]
    assert len(out.files["2.json"].encode()) == 222  # as the workshop's `list-file infer master`


def test_qc_pre_process_writes_one_record_per_row_named_from_1(workshop_csv, tmp_path):
    write_outputs(tmp_path, run_split(str(workshop_csv), 398).files)
    files = run_qc_pre_process(str(tmp_path / "holdout.csv")).files
    assert sorted(files, key=lambda n: int(n.removesuffix(".json"))) == [f"{n}.json" for n in range(1, 45)]
    # the workshop lists qc_pre_process's output as 27.78KiB
    assert round(sum(len(text.encode()) for text in files.values()) / 1024, 2) == 27.78

    header, *rows = list(csv.reader((tmp_path / "holdout.csv").open()))
    first = json.loads(files["1.json"])
    assert list(first) == ["independent_variables", "dependent_variable"]
    assert first["independent_variables"] == [
        {"name": name, "value": float(cell)} for name, cell in zip(header[:-1], rows[0][:-1])
    ]
    assert first["dependent_variable"] == float(rows[0][-1])
    assert files["1.json"].endswith('"dependent_variable": 242\n}')  # Go writes 242, not 242.0


@pytest.mark.parametrize(
    "value, text",
    [
        (242.0, "242"),
        (0.0, "0"),
        (-0.0380759064334, "-0.0380759064334"),
        (6.75072794357e-05, "0.0000675072794357"),  # Python's repr would say 6.75072794357e-05
        (1e20, "100000000000000000000"),
        (2.5e-7, "2.5e-7"),  # below 1e-6 Go switches to an exponent, without a leading 0
        (1e21, "1e+21"),
    ],
)
def test_numbers_are_written_as_go_encoding_json_writes_them(value, text):
    assert go_json(value) == text


def test_split_keeps_rows_in_order_and_as_written():
    training, holdout = split_table(read_table(DIABETES), 398)
    lines = DIABETES.read_text().splitlines()
    assert (len(training.rows), len(holdout.rows)) == (398, 44)
    out = run_split(str(DIABETES), 398).files
    assert out["training.csv"].splitlines() == lines[:399]
    assert out["holdout.csv"].splitlines() == lines[:1] + lines[399:]


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, where, problem",
    [
        ("", "t.csv", "is empty"),
        ("bmi,y\n", "t.csv", "no data rows"),
        ("bmi,y\n0.1,2\n0.2\n", "t.csv:3", "has 1 value(s) but the header names 2 columns"),
        ("bmi,y\n0.1,abc\n", "t.csv:2", "column 'y' holds 'abc', not a number"),
        ("bmi,y\n0.1,NaN\n", "t.csv:2", "column 'y' holds 'NaN', not a finite number"),
        ("bmi,y\n0.1,inf\n", "t.csv:2", "not a finite number"),
        ("bmi,y\n,1\n", "t.csv:2", "column 'bmi' holds nothing, not a number"),
        ("bmi,bmi,y\n1,2,3\n", "t.csv:1", "names column(s) bmi more than once"),
        ('bmi,y\n"0.1,2\n', "t.csv:2", "malformed CSV (unexpected end of data)"),
    ],
)
def test_bad_csv_is_one_line_naming_file_problem_and_fix(text, where, problem):
    with pytest.raises(InvalidInput) as caught:
        parse_table(text, "t.csv")
    message = str(caught.value)
    assert message.startswith(where + ":") and problem in message and "; " in message and "\n" not in message


def test_missing_column_names_the_columns_there_are():
    table = parse_table("bmi,y\n0.1,2\n0.2,3\n0.3,5\n", "t.csv")
    with pytest.raises(InvalidInput, match=r"^t.csv: has no column 'ltg' \(it has: bmi, y\); add the column"):
        fit(table, ["bmi", "ltg"])
    with pytest.raises(InvalidInput, match="has no column 'y'.*add the 'y' column"):
        fit(parse_table("bmi,ltg\n1,2\n", "t.csv"), ["bmi"])


def test_too_few_rows_or_dependent_features_cannot_fit():
    two_rows = parse_table("bmi,ltg,y\n0.1,0.2,1\n0.3,0.1,2\n", "t.csv")
    with pytest.raises(InvalidInput, match="has 2 rows, too few to fit 2 feature.*need at least 3"):
        fit(two_rows, ["bmi", "ltg"])
    # total = bmi + ltg in decimal, so only to rounding in binary; nudged = total but one row off by 1e-9
    dependent = parse_table(
        "bmi,ltg,total,nudged,twice,flat,y\n"
        "0.1,0.2,0.3,0.3,0.2,7,1\n0.2,0.7,0.9,0.9,0.4,7,3\n0.3,0.1,0.4,0.4,0.6,7,2\n"
        "0.4,0.5,0.9,0.900000001,0.8,7,5\n0.6,0.3,0.9,0.9,1.2,7,4\n",
        "t.csv",
    )
    for features in (["bmi", "twice"], ["flat", "bmi"], ["bmi", "ltg", "total"]):  # a constant is the intercept's
        with pytest.raises(InvalidInput, match="linearly dependent.*drop the redundant feature"):
            fit(dependent, features)
    assert len(fit(dependent, ["bmi", "ltg", "nudged"]).coefficients) == 3  # independent, though nearly not


@pytest.mark.parametrize(
    "text, problem",
    [(" , ", "no features given"), ("bmi,bmi", "names bmi twice"), ("bmi,y", "includes 'y'")],
)
def test_bad_feature_lists_are_refused(text, problem):
    with pytest.raises(InvalidInput, match=f"^--features: {problem}"):
        parse_features(text)


def test_split_needs_rows_on_both_sides():
    table = parse_table("bmi,y\n1,2\n3,4\n", "t.csv")
    with pytest.raises(InvalidInput, match="cannot keep 2 of its 2 rows.*between 1 and 1"):
        split_table(table, 2)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("{", "is not valid JSON"),
        ('{"intercept": NaN, "coefficients": []}', "is not valid JSON (NaN is not a number JSON allows"),
        ('{"coefficients": []}', 'has no "intercept"'),
        ('{"intercept": 1}', "has no 'coefficients' list"),
        ('{"intercept": 1, "coefficients": []}', 'empty "coefficients"'),
        ('{"intercept": "1", "coefficients": [{"name": "bmi", "coefficient": 2}]}', 'intercept is "1", not a finite number'),
        ('{"intercept": 1, "coefficients": [{"name": "bmi", "coefficient": true}]}', "coefficient is true"),
        ('{"intercept": 1, "coefficients": [{"name": "bmi"}]}', "has no 'coefficient'"),
        ('{"intercept": 1e999, "coefficients": [{"name": "bmi", "coefficient": 2}]}', "intercept is Infinity"),
    ],
)
def test_bad_model_json_is_refused(text, problem):
    with pytest.raises(InvalidInput) as caught:
        parse_model(text, "model.json")
    assert str(caught.value).startswith("model.json: ") and problem in str(caught.value)


def test_qc_record_needs_its_observed_value():
    with pytest.raises(InvalidInput, match='^7.json: has no "dependent_variable"'):
        parse_record('{"independent_variables": [{"name": "bmi", "value": 0.1}]}', "7.json", dependent=True)


def test_a_feature_missing_from_the_attributes_fails_instead_of_counting_as_zero():
    model = Model(150.0, (("bmi", 900.0), ("ltg", 600.0)))
    record = parse_record('{"independent_variables": [{"name": "bmi", "value": 0.1}]}', "4.json", dependent=False)
    with pytest.raises(InvalidInput) as caught:
        predict(model, record)
    assert str(caught.value) == (
        "4.json: has no value for 'ltg', which the model uses (the file has: bmi); "
        'add {"name": "ltg", "value": <number>} to its independent_variables, '
        "or retrain the model without 'ltg'"
    )


def test_missing_input_files_are_not_found(tmp_path):
    with pytest.raises(NotFound, match="nope.csv: no such file"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "model.json").write_text(WORKSHOP_QC_MODEL)
    with pytest.raises(NotFound, match="missing: no such file or directory"):
        run_infer(str(tmp_path / "model.json"), [str(tmp_path / "missing")])


def test_qcontrol_refuses_an_empty_test_folder(tmp_path):
    (tmp_path / "model.json").write_text(WORKSHOP_QC_MODEL)
    (tmp_path / "qc").mkdir()
    with pytest.raises(InvalidInput, match="holds no QC records"):
        run_qcontrol(str(tmp_path / "model.json"), str(tmp_path / "qc"), 60.0)


def test_infer_refuses_two_inputs_with_one_output_name(tmp_path):
    (tmp_path / "model.json").write_text(WORKSHOP_QC_MODEL)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "1.json").write_text((ATTRIBUTES / "1.json").read_text())
    with pytest.raises(InvalidInput, match="would write 1.json that .* writes too"):
        run_infer(str(tmp_path / "model.json"), [str(ATTRIBUTES / "1.json"), str(tmp_path / "other")])


# --- writing -------------------------------------------------------------------------------------


def test_write_outputs_writes_all_files_or_none(tmp_path):
    (tmp_path / "blocked").write_text("a file where a folder is needed")
    with pytest.raises(PachliteError, match="cannot write outputs"):
        write_outputs(tmp_path, {"a.json": "{}", "blocked/b.json": "{}"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked"]  # no a.json, no temp file

    write_outputs(tmp_path / "out", {"a.json": "{}", "sub/b.json": "[]"})
    assert (tmp_path / "out" / "a.json").read_text() == "{}"
    assert (tmp_path / "out" / "sub" / "b.json").read_text() == "[]"
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == ["a.json", "b.json", "sub"]
