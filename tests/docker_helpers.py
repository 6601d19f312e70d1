"""Docker for the container tests: the engine, the offline base image, the stage image's wheels.

A test that needs one of these fails under CI (which starts the engine with .ci/docker.sh) and is
skipped with one line elsewhere, naming what is missing and how to get it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BASE_IMAGE = "pachlite-base:bookworm"  # what .ci/docker.sh builds without a registry
WHEELS = ROOT / "pachyderm" / "wheels"
BUILD_LOG_TAIL = 15


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs this (bash .ci/docker.sh start; make wheels): {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def require_sdk() -> None:
    """Skip (fail under CI) the module calling this, at import, where the Docker SDK is missing:
    pachlite's container executor imports it."""
    try:
        import docker  # noqa: F401
    except ImportError:
        unavailable("the Docker SDK is not installed (pip install 'pachlite[docker]')")


def docker_client():
    """The engine's client, or skip/fail with why there is none."""
    require_sdk()
    import docker
    try:
        client = docker.from_env()
        client.ping()
    except (docker.errors.DockerException, OSError) as err:
        unavailable(f"no Docker engine answers: {err}")
    return client


def require_image_inputs() -> None:
    """Skip (fail under CI) where the stage image cannot be built: no engine answers, it lacks
    the offline base image, or there are no wheels. At a module's import: one line for all."""
    client = docker_client()
    import docker
    try:
        client.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        unavailable(f"the Docker engine lacks {BASE_IMAGE} (bash .ci/docker.sh start builds it)")
    if not any(WHEELS.glob("*.whl")):
        unavailable(f"no wheels in {WHEELS.relative_to(ROOT)} for the stage image (make wheels)")


def stage_image(tag: str) -> str:
    """Build the stage image (pachyderm/Dockerfile) from the offline base and the pinned wheels."""
    require_image_inputs()
    return build_image(ROOT, ROOT / "pachyderm" / "Dockerfile", tag)


def build_image(context: Path, dockerfile: Path, tag: str) -> str:
    """`docker build -f dockerfile -t tag context`; the image id. A failed build raises with the
    tail of its log."""
    import docker
    try:
        image, _ = docker_client().images.build(path=str(context), dockerfile=str(dockerfile),
                                                tag=tag, rm=True, forcerm=True)
    except docker.errors.BuildError as err:
        tail = [line for chunk in err.build_log
                for line in str(chunk.get("stream") or chunk.get("error") or "").splitlines()
                if line.strip()][-BUILD_LOG_TAIL:]
        raise RuntimeError(f"building {tag} failed: {err.msg} (log tail: {' | '.join(tail)})") from None
    return image.id
