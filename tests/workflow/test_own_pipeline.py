"""The README's "Your own pipeline" walk-through, run as written: its files written, its commands
run in order, each line of their shown output found in what they print (ids as `<id>`, lines
with times aside),
a command shown failing (`make: *** … Error`) failing. The Docker steps run only in the test
marked docker."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from docker_helpers import BASE_IMAGE, WHEELS, docker_client, unavailable
from helpers import BIN, ROOT


def section(title: str) -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index(f"\n## {title}\n")
    return readme[start:readme.find("\n## ", start + 1)]


# Times and image ids vary from run to run: such lines are not compared. Job, datum and commit
# ids and content tags are compared as `<id>`.
VOLATILE = re.compile(r"\bago\b|^sha256:")
ID = re.compile(r"\b[0-9a-f]{12,64}\b")


def steps(text: str) -> list[tuple[str, str, list[str]]]:
    """("file", path, lines) and ("run", command, expected output lines), in the README's order."""
    out = []
    for lang, body in re.findall(r"^```(\w+)\n(.*?)^```$", text, re.M | re.S):
        lines = body.splitlines()
        if lang in ("yaml", "python"):
            out.append(("file", lines[0].removeprefix("# ").split(":")[0], lines))
        elif lang == "console":
            for line in lines:
                if line.startswith("$ "):
                    out.append(("run", line[2:], []))
                else:
                    out[-1][2].append(line)
    return out


def normal(line: str) -> str:
    return ID.sub("<id>", " ".join(line.split()))


def walk(tmp_path: Path, docker: bool) -> int:
    """Run the walk-through in tmp_path; the number of commands run."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PACHLITE_STORE", None)
    for var in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS"):  # as a user's shell runs it, not `make test`'s
        env.pop(var, None)
    cwd, ran = tmp_path, 0
    for kind, what, lines in steps(section("Your own pipeline")):
        if kind == "file":
            (cwd / what).write_text("\n".join(lines) + "\n")
            continue
        if what.startswith("cd "):
            cwd = cwd / what[3:]
            continue
        if what.startswith("docker "):
            if not docker:
                continue
            wheels = cwd / "pachyderm" / "wheels"
            if not wheels.exists():
                shutil.copytree(WHEELS, wheels)
        p = subprocess.run(["bash", "-c", what], cwd=cwd, env=env, capture_output=True, text=True,
                           timeout=900)
        ran += 1
        got = [normal(x) for x in (p.stdout + p.stderr).splitlines()]
        fails = any(x.startswith("make: *** ") for x in lines)
        assert (p.returncode != 0) == fails, (what, p.stdout, p.stderr)
        for line in lines:
            if not VOLATILE.search(line):
                assert any(normal(line) in g for g in got), (what, line, p.stdout, p.stderr)
    return ran


@pytest.mark.slow
def test_the_walk_through_runs_as_the_readme_shows(tmp_path):
    assert walk(tmp_path, docker=False) >= 12


@pytest.mark.slow
@pytest.mark.docker
def test_the_walk_through_builds_and_runs_the_stage_image(tmp_path):
    import docker as sdk
    try:
        docker_client().images.get(BASE_IMAGE)
    except sdk.errors.ImageNotFound:
        unavailable(f"the Docker engine lacks {BASE_IMAGE} (bash .ci/docker.sh start builds it)")
    if not any(WHEELS.glob("*.whl")):
        unavailable("no wheels in pachyderm/wheels for the stage image (make wheels)")
    assert walk(tmp_path, docker=True) >= 14


@pytest.mark.slow
def test_a_declaration_added_to_pipelines_py_alone_runs(wf):
    """A new stage in the example is its declaration (and its data): its input repo is mirrored
    from data/<repo>/ without a rule of its own; without the data, one message says what to do."""
    decl = wf.root / "pipelines.py"
    decl.write_text(decl.read_text().replace("    return out\n", """\
    out.append(pipeline("count", "Lines per reading.", pfs("readings", "/*"),
                        ["bash", "-c", "wc -l < /pfs/readings/* > /pfs/out/lines"]))
    return out
"""))
    p = wf.snakemake("count", ok=False)
    assert p.returncode == 1
    assert "pipeline count reads repo readings, which no pipeline outputs and data/readings/ does not hold; " \
           "put its files in data/readings/" in p.stderr
    (wf.root / "data/readings").mkdir()
    (wf.root / "data/readings/a.txt").write_text("1\n2\n")
    wf.snakemake("count")
    assert wf.get("count@master:/lines").strip() == "2"
