"""The generated Pachyderm specs: fresh, valid by Pachyderm's own rules, and equivalent to the
Snakemake workflow (same DAG, byte-identical output commits)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest

from helpers import DATA, PACHLITE, ROOT, Workflow
from pachlite.errors import InvalidInput, PachliteError
from pachlite.pps import generate as gen, spec as specs

REFERENCE = DATA / "pachyderm"
SPECS = sorted((ROOT / "pachyderm").glob("*.json"))


def proto_parse(text: str) -> None:
    """Parse as pachd does: protobuf JSON into CreatePipelineRequest, unknown fields rejected."""
    pps_pb2 = pytest.importorskip("python_pachyderm.proto.v2.pps.pps_pb2",
                                  reason="python-pachyderm (pachd's generated messages) not installed")
    from google.protobuf import json_format
    json_format.Parse(text, pps_pb2.CreatePipelineRequest(), ignore_unknown_fields=False)


def test_committed_specs_are_fresh():
    p = subprocess.run([str(PACHLITE), "generate", "--check"],
                       cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_check_names_a_stale_spec(tmp_path):
    files = gen.generate(ROOT / "pipelines.py", ROOT / "config/config.yaml")
    gen.write(files, tmp_path)
    assert gen.stale(files, tmp_path) == []
    (tmp_path / "infer.json").write_text((tmp_path / "infer.json").read_text().replace("/*", "/"))
    assert gen.stale(files, tmp_path) == ["infer.json"]


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_generated_spec_is_valid_for_pachyderm(path: Path):
    text = path.read_text()
    spec = json.loads(text)
    for schema in ("CreatePipelineRequest.schema.json", "CreatePipelineRequest.v2.11.6.schema.json"):
        jsonschema.Draft4Validator(json.loads((REFERENCE / schema).read_text())).validate(spec)
    proto_parse(text)
    assert list(spec)[:4] == ["pipeline", "description", "input", "transform"]
    assert spec["transform"]["image"] == "pachlite/diabetes:latest"


def test_generated_specs_follow_the_config():
    specs_by_name = {p.stem: json.loads(p.read_text()) for p in SPECS}
    assert set(specs_by_name) == {"split", "model", "qc_pre_process", "qcontrol", "infer"}
    infer = specs_by_name["infer"]
    assert infer["parallelismSpec"] == {"constant": 2}
    assert [c["pfs"]["glob"] for c in infer["input"]["cross"]] == ["/*", "/"]
    assert "60.0" in specs_by_name["qcontrol"]["transform"]["cmd"]
    assert "bmi,ltg" in specs_by_name["model"]["transform"]["cmd"]


def test_tutorial_config_generates_the_two_stage_dag():
    files = gen.generate(ROOT / "pipelines.py", ROOT / "config/tutorial.yaml")
    assert sorted(files) == ["deploy.sh", "infer.json", "model.json"]
    infer = json.loads(files["infer.json"])
    assert [c["pfs"]["repo"] for c in infer["input"]["cross"]] == ["attributes", "model"]


def test_bad_config_names_the_field_and_the_fix(tmp_path):
    bad = (ROOT / "config/config.yaml").read_text().replace("parallelism: 2", "parallelism: zero")
    (tmp_path / "config.yaml").write_text(bad)
    (tmp_path / "config.schema.yaml").write_text((ROOT / "config/config.schema.yaml").read_text())
    with pytest.raises(InvalidInput) as e:
        gen.load_config(tmp_path / "config.yaml")
    assert "infer.parallelism" in str(e.value) and "config.schema.yaml" in str(e.value)


def test_spec_dag_equals_the_snakemake_rulegraph(wf):
    edges = {(repo, p.stem) for p in SPECS for repo in specs.input_repos(json.loads(p.read_text()))}
    rule_edges = wf.rulegraph()
    # Rules are named after pipelines; an ingest rule stands for its input repo.
    as_repos = {(a.removeprefix("ingest_"), b) for a, b in rule_edges if b != "all"}
    assert as_repos == edges


def test_deploy_script_creates_repos_data_and_pipelines_in_order():
    p = subprocess.run(["bash", str(ROOT / "pachyderm/deploy.sh"), "--dry-run"], capture_output=True,
                       text=True, check=True)
    lines = p.stdout.splitlines()
    assert lines[0].startswith("docker build -f pachyderm/Dockerfile")
    assert lines[1] == "minikube image load pachlite/diabetes:latest"
    order = [line.split()[-1] for line in lines if line.startswith("pachctl create pipeline")]
    assert order.index("pachyderm/split.json") < order.index("pachyderm/model.json") \
        < order.index("pachyderm/qcontrol.json") < order.index("pachyderm/infer.json")
    assert "pachctl put file training@master:/diabetes.csv -f data/diabetes.csv" in lines


@pytest.mark.slow
def test_generated_specs_run_by_create_pipeline_equal_the_snakemake_run(wf, tmp_path):
    wf.snakemake()
    other = Workflow(wf.root)
    other.env["PACHLITE_STORE"] = str(tmp_path / "store")
    other.pachlite("create", "repo", "training")
    other.pachlite("put", "file", "training@master:/diabetes.csv", "-f", "data/diabetes.csv")
    other.pachlite("create", "repo", "attributes")
    other.pachlite("put", "file", "attributes@master:/", "-r", "-f", "data/attributes")
    for line in (ROOT / "pachyderm/deploy.sh").read_text().splitlines():
        if line.startswith("run pachctl create pipeline -f "):
            other.pachlite("create", "pipeline", "-f", str(ROOT / line.split()[-1]))
    for p in SPECS:
        ours = [(f["file"]["path"], f["hash"]) for f in wf.raw("list", "file", f"{p.stem}@master")]
        theirs = [(f["file"]["path"], f["hash"]) for f in other.raw("list", "file", f"{p.stem}@master")]
        assert ours == theirs, p.stem


@pytest.mark.parametrize("path", sorted((REFERENCE / "gc2018-workshop").glob("*.json")), ids=lambda p: p.name)
def test_workshop_specs_upgrade_to_valid_2x(path: Path, tmp_path: Path):
    out = tmp_path / "upgraded.json"
    p = subprocess.run([str(PACHLITE), "upgrade", "spec", "-f",
                        str(path), "-o", str(out)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "`atom` → `pfs`" in p.stderr and "quoted integer → integer" in p.stderr
    spec = json.loads(out.read_text())
    jsonschema.Draft4Validator(json.loads((REFERENCE / "CreatePipelineRequest.schema.json").read_text())
                               ).validate(spec)
    proto_parse(out.read_text())


def test_a_1x_spec_given_to_create_pipeline_names_the_upgrade(tmp_path):
    with pytest.raises(PachliteError) as e:
        specs.normalize(json.loads((REFERENCE / "gc2018-workshop/model.json").read_text()), "model.json")
    assert "atom" in str(e.value) and "pachlite upgrade spec" in str(e.value)
