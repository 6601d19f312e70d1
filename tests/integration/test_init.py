"""`pachlite init`: a new project that runs, passes its own tests and generates valid specs; a
non-empty folder or a bad spec refused in one line with nothing written."""

from __future__ import annotations

import json
import os
import subprocess

import jsonschema
import pytest
import yaml
from test_generate import REFERENCE, proto_parse

from helpers import BIN, DATA, ROOT


def make(project, target: str) -> subprocess.CompletedProcess:
    """The scaffold's own Makefile, with the pachlite (and snakemake) of this environment on PATH."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PACHLITE_STORE", None)
    return subprocess.run(["make", target, f"PYTHON={BIN / 'python'}"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=600)


def valid_for_pachyderm(path) -> dict:
    text = path.read_text()
    spec = json.loads(text)
    jsonschema.Draft4Validator(json.loads((REFERENCE / "CreatePipelineRequest.schema.json").read_text())
                               ).validate(spec)
    proto_parse(text)
    return spec


def test_init_writes_a_project_with_generated_specs(cli):
    out = cli.out("init", "proj")
    project = cli.root / "proj"
    for rel in ("Snakefile", "Makefile", "config/config.yaml", "config/config.schema.yaml",
                "pipelines/summary.yaml", "scripts/summary.py", "scripts/requirements.txt",
                "data/readings/2024-01.csv", "tests/test_summary.py", ".gitignore",
                "pachyderm/summary.json", "pachyderm/Dockerfile", "pachyderm/deploy.sh", ".dockerignore"):
        assert (project / rel).is_file(), rel
        assert f"wrote proj/{rel}" in out
    # Its own config: none of the example's keys.
    assert "features" not in (project / "config/config.yaml").read_text()
    spec = valid_for_pachyderm(project / "pachyderm/summary.json")
    assert spec["transform"]["image"].startswith("proj:") and not spec["transform"]["image"].endswith(":latest")
    # The scaffold's Python passes the project's own linter (the templates are not linted in place).
    lint = subprocess.run([str(BIN / "ruff"), "check", "--config", str(ROOT / "pyproject.toml"), "."], cwd=project,
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout


def test_init_refuses_a_non_empty_folder_in_one_line_and_writes_nothing(cli):
    (cli.root / "proj").mkdir()
    cli.file("proj/notes.txt", "mine")
    p = cli("init", "proj", ok=False)
    assert "not empty" in p.stderr and "--force" in p.stderr
    assert [f.name for f in (cli.root / "proj").iterdir()] == ["notes.txt"]


def test_init_force_writes_the_scaffold_and_keeps_other_files(cli):
    (cli.root / "proj/scripts").mkdir(parents=True)
    cli.file("proj/notes.txt", "mine")
    cli.file("proj/scripts/summary.py", "old")
    cli("init", "proj", "--force")
    assert (cli.root / "proj/notes.txt").read_text() == "mine"
    assert "import pandas" in (cli.root / "proj/scripts/summary.py").read_text()


def test_init_from_a_bad_spec_names_it_and_writes_nothing(cli):
    (cli.root / "specs").mkdir()
    cli.file("specs/a.json", '{"pipeline": {"name": "a"}, "transform": {"cmd": ["true"]}}')
    p = cli("init", "proj", "--from-specs", "specs", ok=False)
    assert "specs/a.json" in p.stderr
    assert not (cli.root / "proj").exists()


@pytest.mark.slow
def test_the_scaffold_runs_and_passes_its_own_tests(cli):
    cli("init", "proj")
    project = cli.root / "proj"
    run = make(project, "run")
    assert run.returncode == 0, run.stdout + run.stderr
    env = {k: v for k, v in cli.env.items() if k != "PACHLITE_STORE"}
    got = subprocess.run([str(BIN / "pachlite"), "get", "file", "summary@master:/2024-01.csv"], cwd=project,
                         env=env, capture_output=True, text=True, check=True).stdout
    assert got.splitlines() == ["city,count,mean,min,max", "Lisbon,3,14.33,13.0,15.5", "Oslo,2,-2.25,-3.5,-1.0"]
    test = make(project, "test")
    assert test.returncode == 0 and "3 passed" in test.stdout, test.stdout + test.stderr


@pytest.mark.slow
def test_a_folder_of_existing_specs_runs_and_generates_back(cli):
    """Pachyderm's own examples (a group and a join, one JSON and one YAML file holding two specs)
    run by the generic workflow, and come back from `generate` valid for pachd."""
    specs = cli.root / "specs"
    specs.mkdir()
    (specs / "group.json").write_text((DATA / "lab_group_by_patient.pipeline.json").read_text())
    join = json.loads((DATA / "inner_join.pipeline.json").read_text())
    copy = {**join, "pipeline": {"name": "inner_join_again"}}
    (specs / "joins.yaml").write_text(yaml.safe_dump_all([join, copy]))
    out = cli.out("init", "proj", "--from-specs", "specs")
    project = cli.root / "proj"
    assert "wrote proj/data/labresults" in out and (project / "data/stores").is_dir()
    (project / "inner_join.py").write_text((DATA / "inner_join.py").read_text())
    for name, text in {"labresults/T1-PATID1-A.txt": "1a", "labresults/T2-PATID1-B.txt": "1b",
                       "labresults/T3-PATID2-A.txt": "2a", "purchases/P1_STOREID1.txt": "bread",
                       "stores/STOREID1.txt": json.dumps({"storeid": "1", "name": "corner",
                                                          "address": {"zipcode": "02139"}})}.items():
        (project / "data" / name).write_text(text)
    run = make(project, "run")
    assert run.returncode == 0, run.stdout + run.stderr
    env = {k: v for k, v in cli.env.items() if k != "PACHLITE_STORE"}

    def files(repo):
        return subprocess.run([str(BIN / "pachlite"), "list", "file", f"{repo}@master"], cwd=project, env=env,
                              capture_output=True, text=True, check=True).stdout
    assert "/1/" in files("group_by_patient") and "/2/" in files("group_by_patient")
    assert "/02139/" in files("inner_join") and "/02139/" in files("inner_join_again")
    assert make(project, "test").returncode == 0
    generated = {p.stem: valid_for_pachyderm(p) for p in (project / "pachyderm").glob("*.json")}
    assert set(generated) == {"group_by_patient", "inner_join", "inner_join_again"}
    # Emitted back as given (camelCase, Pachyderm's order), the external image untouched, plus
    # the spec-hash annotation deploy.sh reads.
    assert generated["inner_join"]["transform"]["image"] == join["transform"]["image"]
    assert generated["inner_join"]["input"] == join["input"]
    # No spec runs the project's image: no Dockerfile, and deploy.sh builds none.
    assert not (project / "pachyderm/Dockerfile").exists()
    assert "docker build" not in (project / "pachyderm/deploy.sh").read_text()
