"""The notebook API (pachlite.open): a store found as the CLI finds it, read-only, a commit's
files listed and read, CSV and JSON straight into pandas, errors as one-line PachliteErrors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import pachlite
from helpers import put, store_above
from pachlite.errors import InvalidInput, NotFound, PachliteError
from pachlite.pfs import PFS
from pachlite.store import Store

CSV = "age,bmi,y\n59,0.06,151\n48,-0.05,75\n"
PREDICTIONS = {"/1.json": {"predicted": 205.5, "independent_variables": {"bmi": 0.06, "ltg": 0.02}},
               "/2.json": {"predicted": 70.1, "independent_variables": {"bmi": -0.05, "ltg": -0.07}}}
ATTRIBUTES = {"independent_variables": [{"name": "bmi", "value": 0.06}, {"name": "ltg", "value": 0.02}]}


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """A project folder whose .pachlite holds training (a CSV, two commits) and infer (JSON)."""
    monkeypatch.delenv("PACHLITE_STORE", raising=False)
    store = Store(tmp_path / ".pachlite")
    pfs = PFS(store)
    pfs.create_repo("training")
    put(pfs, "training", {"/diabetes.csv": CSV})
    put(pfs, "training", {"/diabetes.csv": CSV + "24,0.01,90\n"})
    pfs.create_repo("infer")
    put(pfs, "infer", {p: json.dumps(v, indent=2) for p, v in PREDICTIONS.items()})
    pfs.create_repo("attributes")
    put(pfs, "attributes", {"/1.json": json.dumps(ATTRIBUTES)})
    store.close()
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    return tmp_path


@pytest.fixture
def pl(project):
    with pachlite.open() as client:
        yield client


def test_open_finds_the_store_above_as_the_cli_does(pl, project):
    assert pl.root == project / ".pachlite"
    assert sorted(r.name for r in pl.list_repo()) == ["attributes", "infer", "training"]


def test_a_commits_files_are_listed_and_read(pl):
    assert [(f.path, f.type) for f in pl.list_file("infer@master")] == [("/1.json", "file"),
                                                                         ("/2.json", "file")]
    assert [f.path for f in pl.walk_file("infer@master:/")] == ["/1.json", "/2.json"]
    assert json.loads(pl.get_file("infer@master:/1.json")) == PREDICTIONS["/1.json"]
    with pl.pfs_file("training@master^:/diabetes.csv") as f:
        assert f.read().decode() == CSV
    assert pl.inspect_commit("training@master^").id == pl.list_commit("training")[1].id


def test_a_csv_reads_into_a_dataframe_at_any_commit(pl):
    now = pl.read_csv("training@master:/diabetes.csv")
    before = pl.read_csv("training@master^:/diabetes.csv", usecols=["bmi", "y"])
    assert list(now.columns) == ["age", "bmi", "y"] and len(now) == 3
    pd.testing.assert_frame_equal(before, pd.DataFrame({"bmi": [0.06, -0.05], "y": [151, 75]}))


def test_a_json_object_is_one_row_and_a_folder_of_them_a_row_each(pl):
    one = pl.read_json("infer@master:/1.json")
    assert one.to_dict("records") == [{"predicted": 205.5, "independent_variables.bmi": 0.06,
                                       "independent_variables.ltg": 0.02}]
    every = pl.read_json("infer@master")
    assert list(every.columns)[:2] == ["path", "predicted"]
    assert every[["path", "predicted"]].values.tolist() == [["/1.json", 205.5], ["/2.json", 70.1]]


def test_json_normalizes_options_reach_it(pl):
    rows = pl.read_json("attributes@master", record_path="independent_variables")
    assert rows.values.tolist() == [["/1.json", "bmi", 0.06], ["/1.json", "ltg", 0.02]]


def test_it_never_makes_a_store(tmp_path, monkeypatch):
    monkeypatch.delenv("PACHLITE_STORE", raising=False)
    if store_above(tmp_path):
        pytest.skip(f"{store_above(tmp_path)} is a store above every temporary folder: move it away")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NotFound, match=f"no pachlite store .* in {tmp_path} or any folder above"):
        pachlite.open()
    with pytest.raises(NotFound, match="no pachlite store at"):
        pachlite.open(tmp_path / "elsewhere")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("call, problem", [
    (lambda pl: pl.read_csv("nope@master:/x.csv"), "repo nope not found"),
    (lambda pl: pl.read_json("infer@master:/3.json"), "no such file or directory"),
    (lambda pl: pl.read_json("training@master:/diabetes.csv"), "cannot read it into a DataFrame"),
    (lambda pl: pl.read_csv("infer@master"), "no .csv files in infer@master"),
    (lambda pl: pl.get_file("infer@master"), "is a directory"),
    (lambda pl: pl.list_file("infer@master^"), "goes back"),
], ids=["repo", "file", "not json", "no csv", "folder", "ancestry"])
def test_bad_input_is_one_line_with_the_fix(pl, call, problem):
    with pytest.raises(PachliteError) as err:
        call(pl)
    message = str(err.value)
    assert problem in message and "; " in message and "\n" not in message


def test_a_bad_address_is_invalid_input(pl):
    with pytest.raises(InvalidInput, match="invalid repo name"):
        pl.list_file("bad name@master")
