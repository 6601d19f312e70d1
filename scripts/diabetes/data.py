"""Reading the stages' inputs, checked, and the model's JSON format.

Every reader raises `StageError` naming the file (and line), the problem and the fix, so a bad
input fails its datum with one line. Numbers must be finite: NaN or infinity in a CSV or JSON
file is an error, not a value to carry into the fit.
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from diabetes.stage import StageError

# pandas and numpy are imported where a table is read or predicted: the infer stage reads JSON
# records only, and importing them was most of a one-datum job's time (a warm worker's start).
if TYPE_CHECKING:
    import pandas as pd

TARGET = "y"  # the disease progression every tutorial predicts
MOUNT_HINT = "check the path; in a pipeline an input is mounted at /pfs/<input name>/<its path in the repo>"


def read_csv(path: str) -> pd.DataFrame:
    """A CSV with a header line and rows of finite numbers, as float columns; blank lines skipped.

    Read as text first, so an error can quote the cell and name its line in the file.
    """
    import numpy as np
    import pandas as pd

    try:
        cells = pd.read_csv(path, header=None, dtype=str, keep_default_na=False,
                            skip_blank_lines=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise StageError(path, "is empty",
                         f"give a CSV with a header line (e.g. age,sex,bmi,...,{TARGET}) and data rows") from None
    except pd.errors.ParserError as err:
        raise StageError(path, f"is not a well-formed CSV ({' '.join(str(err).split())})",
                         "give every row one value per column and close every quote") from None
    except (OSError, UnicodeDecodeError) as err:
        raise _unreadable(path, err) from None
    header = cells.iloc[0].str.strip()
    if (header == "").any():
        raise StageError(f"{path}:1", "has an empty column name", "name every column")
    repeated = sorted(set(header[header.duplicated()]))
    if repeated:
        raise StageError(f"{path}:1", f"names column(s) {', '.join(repeated)} more than once",
                         "give each column a unique name")
    rows = cells.iloc[1:]
    rows = rows[~rows.apply(lambda column: column.str.strip() == "").all(axis=1)]
    if rows.empty:
        raise StageError(path, "has a header but no data rows", "add data rows below the header")
    numbers = rows.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = np.argwhere(~np.isfinite(numbers))
    if len(bad):
        i, j = bad[0]
        text = rows.iat[i, j].strip()
        if np.isnan(numbers[i, j]) and text.lower().lstrip("+-") != "nan":
            problem = f"holds {text!r}, not a number" if text else "holds nothing, not a number"
        else:
            problem = f"holds {text!r}, not a finite number"
        # row labels are 0-based line indexes of the file, the header's being 0
        raise StageError(f"{path}:{rows.index[i] + 1}", f"column {header.iat[j]!r} {problem}",
                         "put a number there or remove the row")
    return pd.DataFrame(numbers, columns=header.tolist())


def require_columns(data: pd.DataFrame, names: list[str], where: str) -> None:
    for name in names:
        if name not in data.columns:
            raise StageError(where, f"has no column {name!r} (it has: {', '.join(data.columns)})",
                             f"add the {TARGET!r} column (the disease progression to predict)" if name == TARGET
                             else "add the column, or use only features among its columns")


def read_json(path: str) -> object:
    return _parse_json(path, _read_text(path))


def _read_text(path: str) -> str:
    # Bytes, decoded once: a text-mode file object (its decoder and newline state) cost more than
    # the read in a warm worker, which reads two files a datum; JSON needs no newline translation.
    try:
        with open(path, "rb", buffering=0) as f:
            return f.read().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise _unreadable(path, err) from None


def _parse_json(path: str, text: str) -> object:
    def reject(constant: str) -> float:
        raise ValueError(f"{constant} is not a number JSON allows")

    try:
        return json.loads(text, parse_constant=reject)
    except ValueError as err:  # json.JSONDecodeError is a ValueError
        raise StageError(path, f"is not valid JSON ({err})", "fix the JSON syntax") from None


def files_under(path: str) -> list[tuple[str, str]]:
    """(file, its name relative to `path`) for a file, or for every file below a folder, sorted.

    Pachyderm mounts a datum's file at its full path, so `path` may be either.
    """
    # Strings, not Paths: a warm worker runs this once per datum.
    top = os.path.normpath(path)  # (as Path(path) had it: no trailing slash, "" is ".")
    if os.path.isfile(top):
        return [(top, os.path.basename(top))]
    if not os.path.isdir(top):
        raise StageError(path, "no such file or directory", MOUNT_HINT)
    found = []
    for folder, _, names in os.walk(top, followlinks=True):  # pachlite may lay datums out as links
        for name in names:
            file = os.path.join(folder, name)
            if os.path.isfile(file):
                found.append((file, file[len(top):].lstrip("/")))
    return sorted(found)


@dataclass(frozen=True, eq=False)
class Model:
    """`intercept + coefficients @ features`, as model.json holds it; `rmse` once qcontrol passed it."""

    intercept: float
    coefficients: Mapping[str, float]  # feature name -> coefficient, in the model's order
    rmse: float | None = None

    def predict(self, features: pd.DataFrame) -> pd.Series:
        """One prediction per row, summed term by term in the model's order (as the workshop's Go
        programs did): elementwise, so a row predicts to the same bits alone or in any batch,
        which a matrix product does not promise."""
        import pandas as pd

        total = pd.Series(self.intercept, index=features.index)
        for name, coefficient in self.coefficients.items():
            total = total + coefficient * features[name]
        return total

    def predict_one(self, variables: Mapping[str, float]) -> float:
        """One record's prediction, with the same terms in the same order as `predict` (so to the
        same bits): plain floats, since a one-row frame costs a datum more than its arithmetic."""
        total = self.intercept
        for name, coefficient in self.coefficients.items():
            total = total + coefficient * variables[name]
        return total

    def require_features(self, variables: Mapping[str, float], where: str) -> None:
        """Refuse a record without a feature the model uses (it would not count as zero)."""
        for name, _ in self.coefficients.items():
            if name not in variables:
                raise StageError(
                    where,
                    f"has no value for {name!r}, which the model uses "
                    f"(the file has: {', '.join(variables) or 'nothing'})",
                    f'add {{"name": "{name}", "value": <number>}} to its independent_variables, '
                    f"or retrain the model without {name!r}")

    def to_json(self) -> str:
        """The workshop's model.json (with "rmse" first, as its qcontrol wrote it)."""
        head = {"rmse": self.rmse} if self.rmse is not None else {}
        return json.dumps(head | {
            "intercept": self.intercept,
            "coefficients": [{"name": name, "coefficient": float(c)} for name, c in self.coefficients.items()],
        }, indent=2)


def read_model(path: str) -> Model:
    """model.json as the model or qcontrol stage writes it."""
    return _parse_model(path, _read_text(path))


@functools.lru_cache(maxsize=4)
def _parse_model(path: str, text: str) -> Model:
    """read_model's parsing, once per content: a warm worker runs the stage once per datum, and
    every datum of a job reads the same model (building it was a tenth of a datum's time)."""
    data = _parse_json(path, text)
    fix = ('give the model stage\'s model.json: {"intercept": ..., '
           '"coefficients": [{"name": ..., "coefficient": ...}]}')
    if not isinstance(data, dict) or "intercept" not in data:
        raise StageError(path, 'has no "intercept"', fix)
    coefficients = _named_numbers(data, "coefficients", "coefficient", path, fix)
    if not coefficients:
        raise StageError(path, 'has an empty "coefficients" list', fix)
    rmse = _number(data["rmse"], path, "rmse", fix) if "rmse" in data else None
    return Model(_number(data["intercept"], path, "intercept", fix), coefficients, rmse)


def read_record(path: str, observed: bool = False) -> tuple[dict[str, float], float | None]:
    """An attribute file's `independent_variables` (name -> value) and, for a QC record
    (`observed`), its `dependent_variable`: the y it should predict."""
    data = read_json(path)
    shape = '{"independent_variables": [{"name": "bmi", "value": 0.06}, ...]' + (
        ', "dependent_variable": <observed y>}' if observed else "}")
    variables = _named_numbers(data, "independent_variables", "value", path, f"write the file as {shape}")
    if not observed:
        return variables, None
    if "dependent_variable" not in data:  # data is a dict: _named_numbers checked it
        raise StageError(path, 'has no "dependent_variable" (the observed y)',
                         "QC files come from the qc_pre_process stage; give its output folder")
    return variables, _number(data["dependent_variable"], path, "dependent_variable", "give the observed y")


def _named_numbers(data: object, key: str, field: str, where: str, fix: str) -> dict[str, float]:
    """`[{"name": ..., field: number}, ...]` under `key`, names unique, by name in file order."""
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise StageError(where, f"has no {key!r} list", fix)
    values: dict[str, float] = {}
    for n, item in enumerate(items):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            raise StageError(where, f'{key}[{n}] has no "name"', f'write it as {{"name": ..., "{field}": ...}}')
        if name in values:
            raise StageError(where, f"{key} names {name!r} twice", "keep one entry per name")
        if field not in item:
            raise StageError(where, f"{key}[{n}] ({name}) has no {field!r}", f'add "{field}": <number>')
        values[name] = _number(item[field], where, f"{key}[{n}] ({name}) {field}", "give a number")
    return values


def _number(value: object, where: str, what: str, fix: str) -> float:
    if isinstance(value, int) and not isinstance(value, bool):
        value = float(value) if abs(value) < 1e308 else math.inf
    if isinstance(value, float) and math.isfinite(value):  # json reads 1e999 as inf
        return value
    raise StageError(where, f"{what} is {json.dumps(value)[:40]}, not a finite number", fix)


def _unreadable(path: str, err: Exception) -> StageError:
    if isinstance(err, FileNotFoundError):
        return StageError(path, "no such file", MOUNT_HINT)
    if isinstance(err, IsADirectoryError):
        return StageError(path, "is a directory, not a file", "give the file inside it")
    if isinstance(err, UnicodeDecodeError):
        return StageError(path, "is not UTF-8 text", "give a CSV or JSON text file")
    return StageError(path, f"cannot be read ({getattr(err, 'strerror', err)})", "check its permissions")
