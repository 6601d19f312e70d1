"""The stage image's content tag and deploy.sh: a tag that follows exactly the files the image is
built from, a dry run that refuses a missing Dockerfile (or file it copies) in one line, and a
deploy that creates what the cluster lacks and updates only the pipelines whose spec changed.

The cluster is a stand-in `pachctl` (no Pachyderm runs here) answering `inspect` as pachctl does:
nothing and exit 1 for what does not exist, PipelineInfo JSON (`details.metadata`) otherwise."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from pachlite.pps import generate as gen

FAKE_PACHCTL = """#!/usr/bin/env bash
# inspect repo|pipeline NAME [--raw]: what $CLUSTER holds for it, else exit 1 as pachctl does.
[[ "$1" == inspect && -e "$CLUSTER/$2/$3" ]] || exit 1
cat "$CLUSTER/$2/$3"
"""


@pytest.fixture
def project(cli) -> Path:
    cli("init", "proj")
    root = cli.root / "proj"
    (root / "pipelines/total.yaml").write_text(
        "pipeline: {name: total}\ninput: {pfs: {repo: summary, glob: /}}\n"
        "transform: {image: proj, cmd: [python3, scripts/summary.py, /pfs/summary, /pfs/out]}\n")
    return root


def generate(root: Path) -> dict[str, str]:
    here = os.getcwd()
    os.chdir(root)
    try:
        files = gen.generate(None, "config/config.yaml")
        gen.write(files)
        return files
    finally:
        os.chdir(here)


def image(root: Path, pipeline: str = "summary") -> str:
    return json.loads((root / f"pachyderm/{pipeline}.json").read_text())["transform"]["image"]


def deploy(root: Path, cluster: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if cluster:
        (cluster / "bin").mkdir(parents=True, exist_ok=True)
        (cluster / "bin/pachctl").write_text(FAKE_PACHCTL)
        (cluster / "bin/pachctl").chmod(0o755)
        env.update(PATH=f"{cluster / 'bin'}{os.pathsep}{env['PATH']}", CLUSTER=str(cluster))
    return subprocess.run(["bash", "pachyderm/deploy.sh", "--dry-run"], cwd=root, env=env,
                          capture_output=True, text=True)


def test_the_tag_follows_the_files_the_image_is_built_from(project):
    generate(project)
    first = image(project)
    assert first.startswith("proj:") and first == image(project, "total")
    (project / "data/readings/2024-03.csv").write_text("city,temperature\nRome,9\n")
    (project / "scripts/__pycache__").mkdir(exist_ok=True)
    (project / "scripts/__pycache__/summary.cpython-311.pyc").write_bytes(b"\0")
    generate(project)
    assert image(project) == first  # data and bytecode are not part of the image
    seen = {first}
    for rel, edit in [("scripts/summary.py", "# faster\n"), ("scripts/requirements.txt", "pyarrow==20.0.0\n"),
                      ("pachyderm/Dockerfile", "LABEL stage=1\n"), ("scripts/helper.py", "X = 1\n")]:
        with (project / rel).open("a") as f:
            f.write(edit)
        generate(project)
        assert image(project) not in seen, rel
        seen.add(image(project))
        assert deploy(project).returncode == 0  # deploy.sh computes the same tag


@pytest.mark.parametrize("removed, missing", [("pachyderm/Dockerfile", "pachyderm/Dockerfile"),
                                              ("scripts", "scripts/requirements.txt")])
def test_dry_run_refuses_a_missing_build_file_in_one_line(project, removed, missing):
    generate(project)
    subprocess.run(["rm", "-r", str(project / removed)], check=True)
    d = deploy(project)
    assert d.returncode == 1 and d.stdout == ""
    assert d.stderr == f"deploy.sh: {missing} is missing, and the stage image is built from it: restore it " \
                       "('pachlite generate' writes a missing Dockerfile)\n"


def test_generate_writes_a_missing_dockerfile_that_installs_the_requirements(project):
    (project / "pachyderm/Dockerfile").unlink()
    (project / ".dockerignore").unlink()
    files = generate(project)
    assert {"pachyderm/Dockerfile", ".dockerignore"} <= set(files)
    dockerfile = (project / "pachyderm/Dockerfile").read_text()
    assert "COPY scripts/requirements.txt" in dockerfile and "-r /tmp/stage/requirements.txt" in dockerfile
    assert "!scripts/" in (project / ".dockerignore").read_text()
    # A user's own Dockerfile is kept: generate writes it only when it is missing.
    (project / "pachyderm/Dockerfile").write_text(dockerfile + "LABEL mine=1\n")
    assert "pachyderm/Dockerfile" not in generate(project)
    assert (project / "pachyderm/Dockerfile").read_text().endswith("LABEL mine=1\n")


def test_dry_run_refuses_files_changed_since_generate(project):
    generate(project)
    with (project / "scripts/summary.py").open("a") as f:
        f.write("# edited\n")
    d = deploy(project)
    assert d.returncode == 1 and d.stderr.count("\n") == 1
    assert "changed since the specs were generated" in d.stderr and "pachlite generate" in d.stderr


def test_deploy_creates_what_is_missing_and_updates_only_changed_pipelines(project, tmp_path):
    generate(project)
    cluster = tmp_path / "cluster"
    lines = deploy(project, cluster).stdout.splitlines()
    assert lines[0].endswith(f"-t {image(project)} .")
    assert [x for x in lines if x.startswith("pachctl")] == [
        "pachctl create repo --project default readings",
        "pachctl put file --project default readings@master:/ -r -f data/readings",
        "pachctl create pipeline --project default -f pachyderm/summary.json",
        "pachctl create pipeline --project default -f pachyderm/total.json"]

    def deployed():  # what pachctl would report after that session: PipelineInfo JSON
        (cluster / "repo").mkdir(exist_ok=True)
        (cluster / "repo/readings").write_text('{"repo": {"name": "readings"}}')
        (cluster / "pipeline").mkdir(exist_ok=True)
        for name in ("summary", "total"):
            spec = json.loads((project / f"pachyderm/{name}.json").read_text())
            info = {"pipeline": spec.pop("pipeline"), "version": "1", "details": spec}
            (cluster / f"pipeline/{name}").write_text(json.dumps(info))
    deployed()
    lines = deploy(project, cluster).stdout.splitlines()
    assert [x for x in lines if x.startswith(("pachctl", "#"))] == [
        "# pipeline summary is up to date", "# pipeline total is up to date"]

    spec = project / "pipelines/total.yaml"
    spec.write_text(spec.read_text().replace("glob: /}", "glob: /*}"))
    generate(project)
    lines = deploy(project, cluster).stdout.splitlines()
    assert [x for x in lines if x.startswith(("pachctl", "#"))] == [
        "# pipeline summary is up to date", "pachctl update pipeline --project default -f pachyderm/total.json"]

    deployed()
    with (project / "scripts/summary.py").open("a") as f:
        f.write("# a new image\n")
    generate(project)
    lines = deploy(project, cluster).stdout.splitlines()
    assert [x for x in lines if x.startswith(("pachctl", "#"))] == [
        "pachctl update pipeline --project default -f pachyderm/summary.json",
        "pachctl update pipeline --project default -f pachyderm/total.json"]
