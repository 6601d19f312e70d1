"""Pachyderm's public examples, run as their READMEs run them, with their code and specs
unchanged (tests/data/examples/, SOURCES.md there says where each file comes from). Each test
copies an example's folder into its own and runs the real `pachlite` there, as a user would in a
checkout of Pachyderm's repo; what a transform's image would hold is mapped by the
pachlite-images.yaml the test writes beside it, as the README tells users to.

A tool an example's image holds (OpenCV, ImageMagick's montage) that this machine lacks skips the
test with one line naming how to install it; under CI (CI=true) it fails instead."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import DATA, Cli
from pachlite.pps.executors import namespace

EXAMPLES = DATA / "examples"
PUBLISHED = DATA / "pachyderm" / "examples-2x"


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs this: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def private_pfs() -> None:
    # The examples open literal /pfs paths: they need the namespace runner.
    if why := namespace.unavailable():
        pytest.skip(f"no private /pfs here: {why}")


@pytest.fixture
def opencv() -> None:
    """edges.py's packages (pachyderm/opencv holds them), importable by the python3 on PATH."""
    p = subprocess.run(["python3", "-c", "import cv2, matplotlib"], capture_output=True, text=True)
    if p.returncode:
        unavailable(f"python3 ({shutil.which('python3')}) cannot import cv2 and matplotlib: "
                    "pip install opencv-python-headless matplotlib (the test extra has them)")


@pytest.fixture
def montage() -> None:
    """ImageMagick's montage (dpokidov/imagemagick holds it)."""
    if shutil.which("montage") is None:
        unavailable("ImageMagick's montage is not on PATH: apt-get install imagemagick")


@pytest.fixture
def example(cli: Cli):
    """example(name): the example's folder copied into the test's, where `cli` runs. Its specs
    are the published ones, byte for byte (those tests/data/pachyderm/examples-2x holds too)."""
    def copy(name: str) -> Path:
        shutil.copytree(EXAMPLES / name, cli.root, dirs_exist_ok=True)
        for spec in cli.root.glob("*.pipeline.json"):
            published = PUBLISHED / spec.name
            assert not published.exists() or spec.read_bytes() == published.read_bytes(), spec
        return cli.root
    return copy


@pytest.fixture
def make():
    """make(root, *targets): the example's own Makefile targets, which make its mock data."""
    if shutil.which("make") is None:
        unavailable("make is not on PATH: the examples' Makefiles make their data")

    def run(root: Path, *targets: str) -> None:
        subprocess.run(["make", "-s", *targets], cwd=root, check=True, capture_output=True)
    return run
