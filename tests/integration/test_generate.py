"""The generated Pachyderm specs: fresh, valid by Pachyderm's own rules, and equivalent to the
Snakemake workflow (same DAG, byte-identical output commits)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from helpers import DATA, PACHLITE, ROOT, Workflow, pristine
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


def test_committed_specs_are_fresh(wf):
    # In a copy holding the committed config: what a user edits in the tutorial is not checked.
    shutil.copytree(ROOT / "pachyderm", wf.root / "pachyderm", ignore=shutil.ignore_patterns("wheels"))
    shutil.copy(ROOT / ".dockerignore", wf.root)
    p = subprocess.run([str(PACHLITE), "generate", "--check"], cwd=wf.root, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_check_names_a_stale_spec(tmp_path):
    files = gen.generate(ROOT / "pipelines.py", pristine("config/config.yaml"), root=ROOT)
    gen.write(files, tmp_path)
    assert gen.stale(files, tmp_path) == []
    infer = tmp_path / "pachyderm/infer.json"
    infer.write_text(infer.read_text().replace("/*", "/"))
    assert gen.stale(files, tmp_path) == ["pachyderm/infer.json"]


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_generated_spec_is_valid_for_pachyderm(path: Path):
    text = path.read_text()
    spec = json.loads(text)
    for schema in ("CreatePipelineRequest.schema.json", "CreatePipelineRequest.v2.11.6.schema.json"):
        jsonschema.Draft4Validator(json.loads((REFERENCE / schema).read_text())).validate(spec)
    proto_parse(text)
    assert list(spec)[:4] == ["pipeline", "description", "input", "transform"]
    # Named by the content of what the image is built from, which a cluster pulls anew when it changes.
    assert re.fullmatch(r"pachlite/diabetes:[0-9a-f]{12}", spec["transform"]["image"])


def test_generated_specs_follow_the_config():
    specs_by_name = {p.stem: json.loads(p.read_text()) for p in SPECS}
    assert set(specs_by_name) == {"split", "model", "qc_pre_process", "qcontrol", "infer"}
    infer = specs_by_name["infer"]
    assert infer["parallelismSpec"] == {"constant": 2}
    assert [c["pfs"]["glob"] for c in infer["input"]["cross"]] == ["/*", "/"]
    assert "60.0" in specs_by_name["qcontrol"]["transform"]["cmd"]
    assert "bmi,ltg" in specs_by_name["model"]["transform"]["cmd"]


def test_tutorial_config_generates_the_two_stage_dag():
    files = gen.generate(ROOT / "pipelines.py", pristine("config/tutorial.yaml"), root=ROOT)
    assert sorted(files) == ["pachyderm/deploy.sh", "pachyderm/infer.json", "pachyderm/model.json"]
    infer = json.loads(files["pachyderm/infer.json"])
    assert [c["pfs"]["repo"] for c in infer["input"]["cross"]] == ["attributes", "model"]


def test_bad_config_names_the_field_and_the_fix(tmp_path):
    bad = pristine("config/config.yaml").read_text().replace("parallelism: 2", "parallelism: zero")
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
    image = json.loads((ROOT / "pachyderm/model.json").read_text())["transform"]["image"]
    assert lines[0].endswith(f"-t {image} .") and lines[1] == f"minikube image load {image}"
    order = [line.split()[-1] for line in lines if line.startswith("pachctl create pipeline")]
    assert order.index("pachyderm/split.json") < order.index("pachyderm/model.json") \
        < order.index("pachyderm/qcontrol.json") < order.index("pachyderm/infer.json")
    assert "pachctl put file --project default training@master:/diabetes.csv -f data/diabetes.csv" \
        in lines


@pytest.mark.slow
def test_generated_specs_run_by_create_pipeline_equal_the_snakemake_run(wf, tmp_path):
    wf.snakemake()
    other = Workflow(wf.root)
    other.env["PACHLITE_STORE"] = str(tmp_path / "store")
    other.pachlite("create", "repo", "training")
    other.pachlite("put", "file", "training@master:/diabetes.csv", "-f", "data/diabetes.csv")
    other.pachlite("create", "repo", "attributes")
    other.pachlite("put", "file", "attributes@master:/", "-r", "-f", "data/attributes")
    for spec in specs.dag_order([json.loads(p.read_text()) for p in SPECS]):
        other.pachlite("create", "pipeline", "-f", str(ROOT / f"pachyderm/{spec['pipeline']['name']}.json"))
    for p in SPECS:
        ours = [(f["path"], f["hash"]) for f in wf.raw("list", "file", f"{p.stem}@master")]
        theirs = [(f["path"], f["hash"]) for f in other.raw("list", "file", f"{p.stem}@master")]
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


def spec_project(root: Path, specs_text: dict[str, str]) -> Path:
    """A workflow root whose config points at a folder of spec files, with data for `raw`."""
    (root / "config").mkdir()
    (root / "config/config.yaml").write_text("specs: specs\nimage: stage\n")
    (root / "specs").mkdir()
    for name, text in specs_text.items():
        (root / "specs" / name).write_text(text)
    (root / "data/raw").mkdir(parents=True)
    return root


def generate_in(root: Path, folder: str | None = None) -> dict[str, str]:
    p = subprocess.run([str(PACHLITE), "generate", *(["--specs", folder] if folder else [])], cwd=root,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return {str(f.relative_to(root)): f.read_text() for f in (root / "pachyderm").glob("*.json")}


def test_a_spec_folder_generates_back_valid_and_round_trips(tmp_path):
    """JSON streams and YAML documents, snake_case or quoted integers as pachd reads them, emitted
    valid for pachd; the emitted folder given back generates the same bytes."""
    root = spec_project(tmp_path, {
        "a.json": '{"pipeline": {"name": "a"}, "input": {"pfs": {"repo": "raw", "glob": "/*"}},'
                  ' "transform": {"image": "stage", "cmd": ["cp", "-r", "/pfs/raw", "/pfs/out"]},'
                  ' "parallelism_spec": {"constant": "2"}}'
                  '{"pipeline": {"name": "b"}, "input": {"pfs": {"repo": "a", "glob": "/"}},'
                  ' "transform": {"image": "ubuntu:24.04", "cmd": ["true"]}}',
        "c.yaml": "pipeline: {name: c}\ninput: {pfs: {repo: b, glob: /}}\ntransform: {cmd: ['true']}\n---\n"
                  "pipeline: {name: d}\ninput: {pfs: {repo: raw, glob: /}}\ntransform: {cmd: ['true']}\n"})
    (root / "scripts").mkdir()
    (root / "scripts/requirements.txt").write_text("")
    first = generate_in(root)
    assert sorted(first) == ["pachyderm/a.json", "pachyderm/b.json", "pachyderm/c.json", "pachyderm/d.json"]
    for text in first.values():
        jsonschema.Draft4Validator(json.loads((REFERENCE / "CreatePipelineRequest.schema.json").read_text())
                                   ).validate(json.loads(text))
        proto_parse(text)
    a, b = json.loads(first["pachyderm/a.json"]), json.loads(first["pachyderm/b.json"])
    assert a["parallelismSpec"] == {"constant": 2} and re.fullmatch(r"stage:[0-9a-f]{12}", a["transform"]["image"])
    assert b["transform"]["image"] == "ubuntu:24.04"  # not the stage image: kept
    deploy = (root / "pachyderm/deploy.sh").read_text()
    assert deploy.index("pipeline a ") < deploy.index("pipeline b ") < deploy.index("pipeline c ")
    shutil.copytree(root / "pachyderm", root / "again", ignore=shutil.ignore_patterns("*.sh", "Dockerfile"))
    assert generate_in(root, "again") == first


@pytest.mark.parametrize("specs_text, message", [
    ({}, "holds no spec file"),
    ({"a.yaml": "pipeline: {name: a}\ninput: {pfs: {repo: raw, glob: /}}\ntransform: {cmd: ['true']}\n",
      "b.json": '{"pipeline": {"name": "a"}, "input": {"pfs": {"repo": "raw", "glob": "/"}},'
                ' "transform": {"cmd": ["true"]}}'}, "declares pipeline a a second time"),
    ({"a.yaml": "pipeline: {name: a}\ninput: {pfs: {repo: nowhere, glob: /}}\ntransform: {cmd: ['true']}\n"},
     "pipeline a reads repo nowhere, which no pipeline outputs and data/nowhere/ does not hold"),
])
def test_a_bad_spec_folder_is_refused_in_one_line(tmp_path, specs_text, message):
    root = spec_project(tmp_path, specs_text)
    p = subprocess.run([str(PACHLITE), "generate"], cwd=root, capture_output=True, text=True)
    assert p.returncode == 1 and p.stderr.count("\n") == 1 and message in p.stderr, p.stderr
    assert not (root / "pachyderm").exists()
