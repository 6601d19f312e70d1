"""The README and project files say what the code does: checked, not trusted."""

import re
import subprocess

import pytest
import yaml

from helpers import PACHLITE, ROOT

README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


def test_the_first_commands_are_make_run_and_make_test():
    first = re.findall(r"^\$ (make \w+)", README, re.M)[:2]
    assert first == ["make run", "make test"]
    ci = (ROOT / ".ci/run").read_text()
    assert re.search(r"^make test$", ci, re.M)  # CI runs the README's test command


def test_every_cli_verb_is_documented():
    out = subprocess.run([str(PACHLITE), "--help"], capture_output=True, text=True, check=True).stdout
    verbs = re.findall(r"^  (\w+)\s{2,}", out.split("Commands:")[1], re.M)
    documented = section("CLI")
    assert verbs and [v for v in verbs if f"`{v}" not in documented and f" {v} " not in documented] == []


def test_the_deploy_session_in_the_readme_is_what_deploy_prints():
    out = subprocess.run([str(PACHLITE), "deploy", "--dry-run"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    block = section("Pachyderm specs, the stage image, the cluster")
    assert out.strip() in block


def test_environment_yml_has_the_same_dependencies_as_pyproject():
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    names = set()
    for dep in env["dependencies"]:
        for d in dep["pip"] if isinstance(dep, dict) else [dep]:
            names.add(re.split(r"[<>=\[ ]", d)[0])
    conda = {"docker": "docker-py", "matplotlib": "matplotlib-base"}
    wanted = project["dependencies"] + project["optional-dependencies"]["test"]
    missing = [d for d in wanted if conda.get(re.split(r"[<>=\[]", d)[0], re.split(r"[<>=\[]", d)[0])
               not in names]
    assert missing == []
