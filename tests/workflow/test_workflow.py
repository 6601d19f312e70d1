"""The diabetes workflow, run by the real `snakemake` in a copy of the project: incremental jobs,
provenance, rollback, quality-control failure, the report, and the tutorials' numbers."""

from __future__ import annotations

import csv
import itertools
import json
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from helpers import Workflow
from pachlite.pfs.address import parse

WORKFLOW = Workflow.FILES

pytestmark = pytest.mark.slow


def ols(rows: list[dict], features: list[str]) -> np.ndarray:
    """The regression computed independently of the stage scripts: the normal equations, where
    the model stage uses lstsq."""
    X = np.column_stack([np.ones(len(rows))] + [[float(r[f]) for r in rows] for f in features])
    y = np.array([float(r["y"]) for r in rows])
    return np.linalg.solve(X.T @ X, X.T @ y)


def read_rows(path: Path) -> list[dict]:
    with open(path) as f:
        return list(csv.DictReader(f))


def assert_fsck_clean(wf: Workflow) -> None:
    """`pachlite fsck` on the workflow's store finds nothing (it exits 1 on any problem)."""
    p = wf.pachlite("fsck")
    assert p.stdout.strip() == "no problems found", p.stdout


def test_cold_run_gives_the_workshop_pipeline_and_a_rerun_does_nothing(wf):
    out = wf.snakemake()
    assert "pachlite list job" in out.stdout + out.stderr  # says where the results are
    jobs = wf.jobs()
    assert sorted(j["pipeline"] for j in jobs) == ["infer", "model", "qc_pre_process", "qcontrol", "split"]
    assert all(j["state"] == "success" for j in jobs)
    rows = read_rows(wf.root / "data/diabetes.csv")
    model = json.loads(wf.get("qcontrol@master:/model.json"))
    beta = ols(rows[:398], ["bmi", "ltg"])
    assert model["intercept"] == pytest.approx(beta[0], abs=1e-9)
    assert [c["coefficient"] for c in model["coefficients"]] == pytest.approx(beta[1:], abs=1e-9)
    holdout = rows[398:]
    pred = [beta[0] + beta[1] * float(r["bmi"]) + beta[2] * float(r["ltg"]) for r in holdout]
    rmse = float(np.sqrt(np.mean([(float(r["y"]) - p) ** 2 for r, p in zip(holdout, pred)])))
    assert model["rmse"] == pytest.approx(rmse, abs=1e-9) and rmse < 60.0
    for name in ("1.json", "2.json", "3.json"):
        attrs = {v["name"]: v["value"] for v in
                 json.loads((wf.root / "data/attributes" / name).read_text())["independent_variables"]}
        got = json.loads(wf.get(f"infer@master:/{name}"))["predicted_diabetes_progression"]
        assert got == pytest.approx(beta[0] + beta[1] * attrs["bmi"] + beta[2] * attrs["ltg"], abs=1e-9)

    again = wf.snakemake()
    assert "Nothing to be done" in again.stdout + again.stderr
    assert len(wf.jobs()) == len(jobs)
    assert_fsck_clean(wf)


def test_new_attribute_file_runs_only_infer_for_that_datum(wf):
    wf.snakemake()
    before = len(wf.jobs())
    shutil.copy(wf.root / "data/attributes/1.json", wf.root / "data/attributes/4.json")
    wf.snakemake()
    new = wf.jobs()[: len(wf.jobs()) - before]
    assert [(j["pipeline"], j["processed"], j["skipped"], j["total"]) for j in new] == [("infer", 1, 3, 4)]
    assert "4.json" in wf.pachlite("list", "file", "infer@master").stdout
    assert_fsck_clean(wf)


def test_deleted_attribute_file_loses_its_prediction(wf):
    wf.snakemake()
    (wf.root / "data/attributes/2.json").unlink()
    wf.snakemake()
    names = [f["file"]["path"] for f in wf.raw("list", "file", "infer@master")]
    assert names == ["/1.json", "/3.json"]
    assert_fsck_clean(wf)


def test_edited_attribute_file_is_seen_by_a_dry_run_and_repredicts_only_that_datum(wf):
    wf.snakemake()
    before = len(wf.jobs())
    path = wf.root / "data/attributes/2.json"
    doc = json.loads(path.read_text())
    doc["independent_variables"][0]["value"] += 0.01
    path.write_text(json.dumps(doc))
    dry = wf.snakemake("-n").stdout
    assert "rule ingest_attributes:" in dry and "rule infer:" in dry and "rule model:" not in dry
    assert len(wf.jobs()) == before  # a dry run runs nothing
    wf.snakemake()
    new = wf.jobs()[: len(wf.jobs()) - before]
    assert [(j["pipeline"], j["processed"], j["skipped"], j["total"]) for j in new] == [("infer", 1, 2, 3)]
    got = json.loads(wf.get("infer@master:/2.json"))["independent_variables"]
    assert got == doc["independent_variables"]
    assert "Nothing to be done" in wf.snakemake().stderr


def test_new_training_data_retrains_requalifies_and_repredicts_with_provenance(wf):
    wf.snakemake()
    before = len(wf.jobs())
    lines = (wf.root / "data/diabetes.csv").read_text().splitlines(keepends=True)
    (wf.root / "data/diabetes.csv").write_text("".join(lines[:1] + lines[3:]))  # drop two rows
    wf.snakemake()
    new = wf.jobs()[: len(wf.jobs()) - before]
    assert sorted(j["pipeline"] for j in new) == ["infer", "model", "qc_pre_process", "qcontrol", "split"]
    infer = next(j for j in new if j["pipeline"] == "infer")
    assert (infer["processed"], infer["skipped"]) == (3, 0)
    training = wf.head("training")
    for repo in ("model", "qcontrol", "infer"):
        with wf.lib() as pfs:
            prov = [c for _, _, c in pfs.resolve(parse(f"{repo}@master")).provenance]
        assert training in prov, repo
    assert_fsck_clean(wf)
    model = json.loads(wf.get("model@master:/model.json"))
    beta = ols(read_rows(wf.root / "data/diabetes.csv")[:398], ["bmi", "ltg"])
    assert model["intercept"] == pytest.approx(beta[0], abs=1e-9)


def test_rollback_of_the_model_branch_repredicts_with_the_older_model(wf):
    wf.snakemake()
    first_model = wf.head("model")
    first = wf.get("infer@master:/1.json")
    lines = (wf.root / "data/diabetes.csv").read_text().splitlines(keepends=True)
    (wf.root / "data/diabetes.csv").write_text("".join(lines[:1] + lines[3:]))
    wf.snakemake()
    assert wf.get("infer@master:/1.json") != first
    assert_fsck_clean(wf)  # after the edited CSV
    wf.pachlite("create", "branch", "model@master", "--head", first_model)
    wf.snakemake()
    assert wf.get("infer@master:/1.json") == first
    assert wf.head("model") == first_model  # the model was not retrained over the rollback
    assert_fsck_clean(wf)


def test_qc_failure_stops_the_workflow_and_keeps_the_last_good_predictions(wf):
    wf.snakemake()
    good = wf.get("infer@master:/1.json")
    infer_head = wf.head("infer")
    config = (wf.root / "config/config.yaml").read_text().replace("threshold: 60.0", "threshold: 1.0")
    (wf.root / "config/strict.yaml").write_text(config)
    p = wf.snakemake("--configfile", "config/strict.yaml", ok=False)
    assert p.returncode != 0
    assert "RMSE" in p.stderr and "threshold 1.0" in p.stderr
    assert wf.head("infer") == infer_head and wf.get("infer@master:/1.json") == good
    failed = [j for j in wf.jobs() if j["pipeline"] == "qcontrol"][0]
    assert failed["state"] == "failure" and "RMSE" in failed["reason"]
    # As pachd: the failed job's output commit is finished with its reason; `^` is the last good.
    head = wf.raw("inspect", "commit", "qcontrol@master")
    assert (head["commit"]["id"], head["error"]) == (failed["id"], failed["reason"])
    assert "finished with an error" in wf.pachlite("get", "file", "qcontrol@master:/model.json",
                                                   ok=False).stderr
    assert json.loads(wf.get("qcontrol@master^:/model.json"))["rmse"] < 60.0
    again = wf.snakemake("--configfile", "config/strict.yaml", ok=False)  # the same, every run
    assert again.returncode != 0 and f"not run again: job {failed['id']} failure" in again.stdout + again.stderr
    assert wf.head("infer") == infer_head and wf.get("infer@master:/1.json") == good
    assert_fsck_clean(wf)


def test_tutorial_config_is_the_two_stage_dag_with_the_tutorial_numbers(wf):
    wf.snakemake("--configfile", "config/tutorial.yaml")
    assert sorted(j["pipeline"] for j in wf.jobs()) == ["infer", "model"]
    model = json.loads(wf.get("model@master:/model.json"))
    assert model["intercept"] == pytest.approx(152.13348416289818, abs=1e-6)
    assert model["coefficients"] == [
        {"name": "bmi", "coefficient": pytest.approx(949.4352603839862, abs=1e-6)}]


def test_rulegraph_is_the_repo_to_stage_dag(wf):
    named = wf.rulegraph()
    assert {("ingest_training", "split"), ("split", "model"), ("split", "qc_pre_process"),
            ("model", "qcontrol"), ("qc_pre_process", "qcontrol"), ("qcontrol", "infer"),
            ("ingest_attributes", "infer")} <= named


def test_the_closing_hints_commands_run_and_the_report_has_the_plots(wf):
    p = wf.snakemake()
    out = p.stdout.splitlines()
    hint = out[out.index(next(line for line in out if line.startswith("Results are versioned in"))) + 1:]
    commands = [line.split("   (")[0].strip() for line in itertools.takewhile(lambda x: x.startswith("  "), hint)]
    assert len(commands) == 5, hint
    printed = {}
    for command in commands:  # as a user pastes them into a shell, in the workflow's folder
        r = subprocess.run(command, shell=True, cwd=wf.root, env=wf.env, capture_output=True, text=True)
        assert r.returncode == 0, (command, r.stderr)
        printed[command.split()[0]] = r.stdout
    assert "/3.json" in printed["python3"]  # the notebook API: a row per prediction
    for name in ("profile", "fit", "residuals", "rmse"):
        assert (wf.root / f"results/plots/{name}.png").stat().st_size > 10_000
    html = (wf.root / "report.html").read_text(errors="replace")
    assert all(f"{name}.png" in html for name in ("profile", "fit", "residuals", "rmse"))


@pytest.mark.docker
def test_container_mode_commits_equal_local_mode_commits(tmp_path):
    """The whole workflow with every datum in the stage image (as on a cluster) gives the same
    output commits, byte for byte, as the local run: the same pinned wheels on the same machine
    (README: local and container runs)."""
    from docker_helpers import docker_client, stage_image
    from pachlite.pfs import PFS
    from pachlite.store import Store

    image = "pachlite/diabetes:latest"  # the tag config/config.yaml names
    stage_image(image)
    runs = {}
    for mode in ("local", "container"):
        (tmp_path / mode).mkdir()
        runs[mode] = Workflow.copy(tmp_path / mode)
    runs["local"].snakemake()
    client = docker_client()
    since = datetime.now(timezone.utc)
    runs["container"].snakemake("--config", "container=True")
    events = client.events(since=since, until=datetime.now(timezone.utc) + timedelta(seconds=1),
                           decode=True,
                           filters={"type": "container", "image": image})
    jobs = runs["container"].jobs()
    # Each worker keeps a container (as a pod does) and runs each datum as an exec in it.
    execs = [e for e in events if e.get("Action", "").startswith("exec_start")]
    assert len(execs) == sum(j["processed"] for j in jobs) >= 7  # one per datum

    def commits(wf: Workflow) -> dict:
        store = Store(wf.root / ".pachlite")
        pfs = PFS(store)
        try:
            return {j["pipeline"]: pfs.files(wf.head(j["pipeline"])) for j in wf.jobs()}
        finally:
            store.close()

    local, container = commits(runs["local"]), commits(runs["container"])
    assert sorted(local) == ["infer", "model", "qc_pre_process", "qcontrol", "split"]
    assert container == local
