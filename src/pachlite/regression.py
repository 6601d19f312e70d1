"""The diabetes-regression stages of the Pachyderm tutorials: split, model, qc_pre_process,
qcontrol and infer.

Formats mirror the GopherCon 2018 workshop's Go programs (ardanlabs/training-ai,
machine-learning-with-go/ml_workflow) byte for byte: Go's `json.MarshalIndent(v, "", "  ")`,
so two-space indent, no trailing newline and Go's float text (151, not 151.0).

This module runs inside the stage image, so it imports only the standard library and
pachlite.errors. No numpy: the last digits of `np.linalg.lstsq` depend on the numpy/LAPACK build,
so a container's model.json would differ from a local one; `fit` below is plain IEEE-754 double
arithmetic in a fixed order, the same bits under any CPython. CSV is read with the csv module, not
pandas: that saves the ~0.8 s pandas import on every datum, keeps each row's text as written (a
split commits byte-identical rows, so unchanged data deduplicates) and gives line numbers for
errors.

Each `run_*` function is one stage: it reads its inputs, checks everything, and returns the files
to write; `write_outputs` then writes them all or none.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from pachlite.errors import InvalidInput, NotFound

TARGET = "y"  # the disease-progression column every tutorial predicts
PREDICTION_KEY = "predicted_diabetes_progression"
_MOUNT_HINT = "check the path; in a pipeline an input is mounted at /pfs/<input name>/<its path in the repo>"


@dataclass(frozen=True, eq=False)
class Table:
    """A numeric CSV: its header, each row's cells as written, and their values."""

    path: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    values: tuple[tuple[float, ...], ...]  # one tuple per row, one float per column


@dataclass(frozen=True)
class Model:
    """A fitted line `intercept + sum(coefficient * feature)`; `rmse` once it passed qcontrol."""

    intercept: float
    coefficients: tuple[tuple[str, float], ...]
    rmse: float | None = None

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.coefficients)


@dataclass(frozen=True)
class Record:
    """One JSON file of `independent_variables` (and, for QC, the observed `dependent_variable`)."""

    path: str
    variables: tuple[tuple[str, float], ...]
    dependent: float | None = None


@dataclass(frozen=True)
class StageOutput:
    """What a stage computed: files to write under /pfs/out (relative path -> text) and a log line."""

    files: dict[str, str]
    summary: str


# --- reading -------------------------------------------------------------------------------------


def read_text(path: str | os.PathLike) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise NotFound(
            "no such file",
            _MOUNT_HINT,
            where=str(path),
        ) from None
    except IsADirectoryError:
        raise InvalidInput("is a directory, not a file", "give the file inside it", where=str(path)) from None
    except UnicodeDecodeError:
        raise InvalidInput("is not UTF-8 text", "give a CSV or JSON text file", where=str(path)) from None
    except OSError as err:
        raise InvalidInput(f"cannot be read ({err.strerror})", "check its permissions", where=str(path)) from None


def read_table(path: str | os.PathLike) -> Table:
    return parse_table(read_text(path), str(path))


def read_model(path: str | os.PathLike) -> Model:
    return parse_model(read_text(path), str(path))


def files_under(path: str | os.PathLike) -> list[tuple[str, str]]:
    """(file, name relative to `path`) for a file, or for every file below a directory, sorted.

    Pachyderm mounts a datum's file at its full path, so `path` may be either.
    """
    root = Path(path)
    if root.is_file():
        return [(str(root), root.name)]
    if not root.is_dir():
        raise NotFound(
            "no such file or directory",
            _MOUNT_HINT,
            where=str(root),
        )
    found = []
    for folder, _, names in os.walk(root, followlinks=True):  # the engine may lay datums out as links
        for name in names:
            file = Path(folder, name)
            if file.is_file():
                found.append((str(file), file.relative_to(root).as_posix()))
    return sorted(found)


# --- parsing (pure) ------------------------------------------------------------------------------


def _number(text: str, where: str, what: str, fix: str) -> float:
    try:
        value = float(text)
    except ValueError:
        shown = repr(text) if text.strip() else "nothing"
        raise InvalidInput(f"{what} holds {shown}, not a number", fix, where=where) from None
    if not math.isfinite(value):
        raise InvalidInput(f"{what} holds {text.strip()!r}, not a finite number", fix, where=where)
    return value


def parse_table(text: str, where: str) -> Table:
    """A CSV with a header line and numeric rows, every cell a finite number; blank lines skipped."""
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        lines = [(reader.line_num, row) for row in reader if row]
    except csv.Error as err:
        raise InvalidInput(
            f"malformed CSV ({err})", "fix the quoting on that line", where=f"{where}:{reader.line_num}"
        ) from None
    if not lines:
        raise InvalidInput(
            "is empty", f"give a CSV with a header line (e.g. age,sex,bmi,...,{TARGET}) and data rows", where=where
        )
    header_line, header = lines[0]
    columns = tuple(name.strip() for name in header)
    if "" in columns:
        raise InvalidInput("has an empty column name", "name every column", where=f"{where}:{header_line}")
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise InvalidInput(
            f"names column(s) {', '.join(repeated)} more than once",
            "give each column a unique name",
            where=f"{where}:{header_line}",
        )
    if len(lines) == 1:
        raise InvalidInput("has a header but no data rows", "add data rows below the header", where=where)
    rows = tuple(tuple(row) for _, row in lines[1:])
    values = []
    for (line, _), row in zip(lines[1:], rows):
        if len(row) != len(columns):
            raise InvalidInput(
                f"has {len(row)} value(s) but the header names {len(columns)} columns",
                "give every row one value per column",
                where=f"{where}:{line}",
            )
        values.append(tuple(
            _number(cell, f"{where}:{line}", f"column {name!r}", "put a number there or remove the row")
            for name, cell in zip(columns, row)
        ))
    return Table(where, columns, rows, tuple(values))


def column(table: Table, name: str) -> tuple[float, ...]:
    if name not in table.columns:
        raise InvalidInput(
            f"has no column {name!r} (it has: {', '.join(table.columns)})",
            f"add the {TARGET!r} column (the disease progression to predict)"
            if name == TARGET
            else "add the column, or use only features among its columns",
            where=table.path,
        )
    j = table.columns.index(name)
    return tuple(row[j] for row in table.values)


def _json(text: str, where: str) -> object:
    def reject(constant: str) -> float:
        raise ValueError(f"{constant} is not a number JSON allows")

    try:
        return json.loads(text, parse_constant=reject)
    except ValueError as err:  # json.JSONDecodeError is a ValueError
        raise InvalidInput(f"is not valid JSON ({err})", "fix the JSON syntax", where=where) from None


def _json_number(value: object, where: str, what: str, fix: str) -> float:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 1e300:
        return float(value)
    if isinstance(value, float) and math.isfinite(value):  # json reads 1e999 as inf
        return value
    raise InvalidInput(f"{what} is {json.dumps(value)[:40]}, not a finite number", fix, where=where)


def _named_list(data: object, key: str, field: str, where: str, fix: str) -> tuple[tuple[str, float], ...]:
    """`[{"name": ..., field: number}, ...]` under `key`, names unique, as (name, value) pairs."""
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise InvalidInput(f"has no {key!r} list", fix, where=where)
    pairs: list[tuple[str, float]] = []
    for n, item in enumerate(items):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            raise InvalidInput(f"{key}[{n}] has no \"name\"", f'write it as {{"name": ..., "{field}": ...}}', where=where)
        if name in dict(pairs):
            raise InvalidInput(f"{key} names {name!r} twice", "keep one entry per name", where=where)
        if field not in item:
            raise InvalidInput(f"{key}[{n}] ({name}) has no {field!r}", f'add "{field}": <number>', where=where)
        pairs.append((name, _json_number(item[field], where, f"{key}[{n}] ({name}) {field}", "give a number")))
    return tuple(pairs)


def parse_model(text: str, where: str) -> Model:
    """model.json as the model or qcontrol stage writes it."""
    data = _json(text, where)
    fix = 'give the model stage\'s model.json: {"intercept": ..., "coefficients": [{"name": ..., "coefficient": ...}]}'
    if not isinstance(data, dict) or "intercept" not in data:
        raise InvalidInput("has no \"intercept\"", fix, where=where)
    intercept = _json_number(data["intercept"], where, "intercept", fix)
    coefficients = _named_list(data, "coefficients", "coefficient", where, fix)
    if not coefficients:
        raise InvalidInput("has an empty \"coefficients\" list", fix, where=where)
    rmse = _json_number(data["rmse"], where, "rmse", fix) if "rmse" in data else None
    return Model(intercept, coefficients, rmse)


def parse_record(text: str, where: str, dependent: bool) -> Record:
    """An attribute or QC file; `dependent` requires the observed `dependent_variable`."""
    data = _json(text, where)
    fix = '{"independent_variables": [{"name": "bmi", "value": 0.06}, ...]' + (
        ', "dependent_variable": <observed y>}' if dependent else "}"
    )
    variables = _named_list(data, "independent_variables", "value", where, f"write the file as {fix}")
    observed = None
    if dependent:
        if "dependent_variable" not in data:  # data is a dict: _named_list checked it
            raise InvalidInput(
                "has no \"dependent_variable\" (the observed y)",
                "QC files come from the qc_pre_process stage; give its output folder",
                where=where,
            )
        observed = _json_number(data["dependent_variable"], where, "dependent_variable", "give the observed y")
    return Record(where, variables, observed)


# --- the regression (pure) -----------------------------------------------------------------------


def parse_features(text: str) -> tuple[str, ...]:
    """`bmi,ltg` -> ("bmi", "ltg")."""
    features = tuple(name.strip() for name in text.split(",") if name.strip())
    if not features:
        raise InvalidInput("no features given", "name them, e.g. --features bmi,ltg", where="--features")
    repeated = sorted({f for f in features if features.count(f) > 1})
    if repeated:
        raise InvalidInput(f"names {', '.join(repeated)} twice", "list each feature once", where="--features")
    if TARGET in features:
        raise InvalidInput(
            f"includes {TARGET!r}, the value being predicted", f"remove {TARGET!r} from the features", where="--features"
        )
    return features


def fit(table: Table, features: Sequence[str]) -> Model:
    """Ordinary least squares of y on `features` plus an intercept."""
    y = column(table, TARGET)
    design = [(1.0,) * len(y)] + [column(table, name) for name in features]
    if len(y) < len(design):
        raise InvalidInput(
            f"has {len(y)} rows, too few to fit {len(features)} feature(s) and an intercept "
            f"(need at least {len(design)})",
            "add training rows or use fewer features",
            where=table.path,
        )
    beta = least_squares(design, y)
    if beta is None:
        raise InvalidInput(
            f"features {', '.join(features)} are linearly dependent here (a constant column, or one "
            "feature a combination of others), so the fit is not unique",
            "drop the redundant feature or add varied rows",
            where=table.path,
        )
    return Model(beta[0], tuple(zip(features, beta[1:])))


def least_squares(columns: Sequence[Sequence[float]], y: Sequence[float]) -> list[float] | None:
    """b minimising |y - sum(b[j] * columns[j])|, by Householder QR and back substitution; None
    when a column is, to rounding, a combination of the ones before it (rank deficient). Needs
    len(y) >= len(columns) >= 1, every column as long as y.

    Every step is IEEE-754 double arithmetic in a fixed order, and every inner product is `_dot`,
    so the bits depend on the data alone, not on the interpreter, platform or a BLAS build.
    """
    n, p = len(y), len(columns)
    # Power-of-two scales are exact: the arithmetic below rounds exactly as it would unscaled,
    # but with every value below 1 no square overflows (and fsum meets no intermediate overflow).
    scales = [_binary_scale(c) for c in columns]
    y_scale = _binary_scale(y)
    a = [[x * scale for x in c] for c, scale in zip(columns, scales)]  # a[k][i]: row i, column k
    qty = [v * y_scale for v in y]
    norms = [math.sqrt(_dot(c, c)) for c in a]
    tolerance = max(n, p) * sys.float_info.epsilon  # numpy lstsq's default rcond, per column here
    for j in range(p):
        x = a[j][j:]
        s = math.sqrt(_dot(x, x))  # what is left of column j beside columns 0..j-1
        if s <= tolerance * norms[j]:
            return None
        alpha = -s if x[0] >= 0 else s  # the sign that keeps v[0] = x[0] - alpha free of cancellation
        v = [x[0] - alpha] + x[1:]
        half_vv = s * (s + abs(x[0]))  # v.v / 2
        for target in a[j + 1 :] + [qty]:  # reflect the later columns and y by I - v v^T / half_vv
            f = _dot(v, target[j:]) / half_vv
            target[j:] = [t - f * vi for t, vi in zip(target[j:], v)]
        a[j][j] = alpha  # R[j][j]; R[i][k] = a[k][i] above it
    b = [0.0] * p
    for i in reversed(range(p)):
        b[i] = math.fsum([qty[i]] + [-a[k][i] * b[k] for k in range(i + 1, p)]) / a[i][i]
    return [bi * scale / y_scale for bi, scale in zip(b, scales)]


def _dot(u: Sequence[float], w: Sequence[float]) -> float:
    """The correctly rounded sum of the rounded products: a value IEEE-754 fixes, whatever the
    order or interpreter. Not built-in sum(), whose float algorithm changed in Python 3.12
    (compensated), so 3.11 and 3.12 would round differently; and, unlike a running `s += x * y`,
    its error does not grow with the number of rows.
    """
    return math.fsum([x * y for x, y in zip(u, w)])


def _binary_scale(values: Sequence[float]) -> float:
    """The power of two that brings max |value| into [0.5, 1) (1 for all zeros)."""
    exponent = math.frexp(max(map(abs, values)))[1]
    return math.ldexp(1.0, -max(exponent, -1021))  # for a subnormal maximum, a scale that is still finite


def predict(model: Model, record: Record) -> float:
    values = dict(record.variables)
    total = model.intercept  # summed in the Go programs' order, so predictions match theirs exactly
    for name, coefficient in model.coefficients:
        if name not in values:
            raise InvalidInput(
                f"has no value for {name!r}, which the model uses (the file has: "
                f"{', '.join(values) or 'nothing'})",
                f'add {{"name": "{name}", "value": <number>}} to its independent_variables, '
                f"or retrain the model without {name!r}",
                where=record.path,
            )
        total += coefficient * values[name]
    return total


def rmse(model: Model, records: Sequence[Record]) -> float:
    """Root mean squared error of the model's predictions against each record's observed y.

    Accumulated as the workshop's qcontrol does (each squared error / n, in file-name order, as
    filepath.Walk visits them), so on the same input it reports the same number to the bit.
    """
    mse = 0.0
    for record in records:
        mse += (record.dependent - predict(model, record)) ** 2 / len(records)
    return math.sqrt(mse)


def quality_control(model: Model, records: Sequence[Record], threshold: float, where: str) -> Model:
    """The model with its RMSE if that is below `threshold`; else an error, so the job fails."""
    score = rmse(model, records)
    if not score < threshold:
        raise InvalidInput(
            f"RMSE {score:.4f} on {len(records)} holdout rows is at or above the threshold {threshold}",
            "the model is not passed on, so infer keeps the last model that passed; improve the "
            "features or training data, or raise --threshold",
            where=where,
        )
    return Model(model.intercept, model.coefficients, score)


def split_table(table: Table, train_rows: int) -> tuple[Table, Table]:
    """The first `train_rows` rows and the rest, in file order, as the workshop split (no shuffle)."""
    if not 0 < train_rows < len(table.rows):
        raise InvalidInput(
            f"cannot keep {train_rows} of its {len(table.rows)} rows for training",
            f"give --train-rows between 1 and {len(table.rows) - 1}, so each part has a row",
            where=table.path,
        )

    def part(rows: slice) -> Table:
        return Table(table.path, table.columns, table.rows[rows], table.values[rows])

    return part(slice(None, train_rows)), part(slice(train_rows, None))


# --- output formats (pure) -----------------------------------------------------------------------


def _go_float(x: float) -> str:
    """Go encoding/json's float64 text: shortest digits, positional unless |x| < 1e-6 or >= 1e21."""
    if not math.isfinite(x):
        raise InvalidInput(f"computed {x}, which JSON cannot hold", "check the input values for extremes")
    text = repr(x)
    if x != 0 and not 1e-6 <= abs(x) < 1e21:
        return text.replace("e-0", "e-")  # Go writes 1e-7 where Python writes 1e-07
    text = format(Decimal(text), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def go_json(value: object, indent: str = "  ", _level: int = 0) -> str:
    """`value` (dicts, lists, strings, numbers) as Go's `json.MarshalIndent(value, "", indent)`."""
    inner, outer = indent * (_level + 1), indent * _level
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k)}: {go_json(v, indent, _level + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{outer}}}" if items else "{}"
    if isinstance(value, list):
        items = [inner + go_json(v, indent, _level + 1) for v in value]
        return "[\n" + ",\n".join(items) + f"\n{outer}]" if items else "[]"
    if isinstance(value, str):
        return json.dumps(value)
    return _go_float(float(value))


def model_json(model: Model) -> str:
    head = {"rmse": model.rmse} if model.rmse is not None else {}  # qcontrol's ModelInfo puts it first
    return go_json(head | {
        "intercept": model.intercept,
        "coefficients": [{"name": n, "coefficient": c} for n, c in model.coefficients],
    })


def _variables(pairs: Iterable[tuple[str, float]]) -> list[dict[str, object]]:
    return [{"name": name, "value": value} for name, value in pairs]


def table_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    writer.writerows(table.rows)
    return out.getvalue()


# --- stages --------------------------------------------------------------------------------------


def run_split(in_file: str, train_rows: int) -> StageOutput:
    """training.csv = the first `train_rows` rows, holdout.csv = the rest, each with the header."""
    training, holdout = split_table(read_table(in_file), train_rows)
    return StageOutput(
        {"training.csv": table_csv(training), "holdout.csv": table_csv(holdout)},
        f"split {in_file}: {len(training.rows)} training rows, {len(holdout.rows)} holdout rows",
    )


def run_train(in_file: str, features: Sequence[str]) -> StageOutput:
    table = read_table(in_file)
    model = fit(table, features)
    terms = " ".join(f"{'-' if c < 0 else '+'} {abs(c):.4f}*{n}" for n, c in model.coefficients)
    return StageOutput(
        {"model.json": model_json(model)},
        f"fit on {len(table.rows)} rows of {in_file}: {TARGET} = {model.intercept:.4f} {terms}",
    )


def run_qc_pre_process(in_file: str) -> StageOutput:
    """One `<n>.json` per row (n = 1 for the first data row, as the workshop's record index)."""
    table = read_table(in_file)
    observed = column(table, TARGET)
    features = [j for j, name in enumerate(table.columns) if name != TARGET]
    files = {
        f"{n}.json": go_json({
            "independent_variables": _variables((table.columns[j], row[j]) for j in features),
            "dependent_variable": y,
        })
        for n, (row, y) in enumerate(zip(table.values, observed), start=1)
    }
    return StageOutput(files, f"wrote {len(files)} QC records from {in_file}")


def run_qcontrol(model_file: str, test_dir: str, threshold: float) -> StageOutput:
    """model.json with its RMSE over the QC records, if below `threshold`; else an error."""
    if not (math.isfinite(threshold) and threshold > 0):
        raise InvalidInput(f"is {threshold}, not a positive number", "give e.g. --threshold 60.0", where="--threshold")
    model = read_model(model_file)
    paths = [path for path, _ in files_under(test_dir)]
    if not paths:
        raise InvalidInput("holds no QC records", "give the qc_pre_process stage's output folder", where=test_dir)
    records = [parse_record(read_text(path), path, dependent=True) for path in paths]
    passed = quality_control(model, records, threshold, where=model_file)
    return StageOutput(
        {"model.json": model_json(passed)},
        f"RMSE {passed.rmse:.4f} < {threshold} on {len(records)} records: model passed",
    )


def run_infer(model_file: str, attributes: Sequence[str]) -> StageOutput:
    """One prediction per attribute file, written under the file's name (its path below a folder)."""
    model = read_model(model_file)
    sources: dict[str, str] = {}
    for given in attributes:
        found = files_under(given)
        if not found:
            raise InvalidInput("holds no attribute files", "put the attribute JSON files in it", where=given)
        for path, name in found:
            if name in sources:
                raise InvalidInput(
                    f"would write {name} that {sources[name]} writes too",
                    "give attribute files distinct names",
                    where=path,
                )
            sources[name] = path
    files = {}
    for name, path in sources.items():
        record = parse_record(read_text(path), path, dependent=False)
        files[name] = go_json({
            PREDICTION_KEY: predict(model, record),
            "independent_variables": _variables(record.variables),
        })
    return StageOutput(files, f"predicted {len(files)} file(s) with {model_file}")


# --- writing (edge) ------------------------------------------------------------------------------


def write_outputs(out_dir: str | os.PathLike, files: Mapping[str, str]) -> None:
    """Write all `files` under `out_dir`, or none: each goes to a temp name, renamed once all are."""
    root = Path(out_dir)
    staged: list[tuple[str, Path]] = []
    try:
        for name, text in files.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
            staged.append((temp, target))
            os.chmod(temp, 0o644)  # mkstemp makes 0600; Go's stages wrote 0644
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
        for temp, target in staged:
            os.replace(temp, target)
    except OSError as err:
        for temp, _ in staged:
            Path(temp).unlink(missing_ok=True)
        raise InvalidInput(
            f"cannot write outputs ({err.strerror}: {err.filename})",
            "check the output folder is a writable directory",
            where=str(out_dir),
        ) from None
