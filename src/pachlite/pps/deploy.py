"""The stage image and the cluster session: its Dockerfile, its content tag, and deploy.sh.

The image is named by a tag derived from what it is built from (the Dockerfile and every file it
COPYs), so an edited script or requirement makes a new tag, which a cluster pulls and tells apart
from the last one; `:latest` it would neither re-pull nor distinguish. deploy.sh recomputes that
tag with sha256sum (the same manifest as `build_tag`) and refuses to deploy when the files changed
since `pachlite generate`, and creates or updates only the pipelines whose spec changed, read
from a hash annotation in each spec.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from pathlib import Path

SPEC_HASH = "pachlite.io/spec-hash"
STAGE_CODE = "scripts"
REQUIREMENTS = f"{STAGE_CODE}/requirements.txt"
SKIPPED = ("__pycache__", ".pyc")  # never part of an image (.dockerignore), never part of its tag

DOCKERFILE = """\
# The stage image: every pipeline's transform runs in it, locally (pachlite's container mode) and
# on a Pachyderm cluster. Build from the repository root:
#   docker build -f pachyderm/Dockerfile -t IMAGE .
# (pachyderm/deploy.sh does, with the content tag the generated specs name).
# It holds the stage scripts (scripts/) and the pinned packages they import
# (scripts/requirements.txt) in a venv at /opt/stage, nothing of pachlite. Pip installs them from
# the wheels in pachyderm/wheels/ when there are any (`make wheels`: a build with no network, as
# CI's engine has none), else from PyPI.
# The base is any image with python3 3.11 and its venv module: pachlite-base:bookworm
# (debootstrap, see .ci/docker.sh) by default, or e.g. --build-arg BASE_IMAGE=python:3.11-slim
# where a registry is at hand (pachyderm/deploy.sh does).
# `pachlite generate` writes this file when it is missing and leaves it alone otherwise: edit it
# (its tag follows), e.g. to add system packages.
ARG BASE_IMAGE=pachlite-base:bookworm

FROM ${BASE_IMAGE} AS packages
# wheel[s]: a pattern, so a missing folder copies nothing instead of failing the build
COPY scripts/requirements.txt pachyderm/wheel[s] /tmp/stage/
RUN python3 -m venv /opt/stage \\
 && if ls /tmp/stage/*.whl >/dev/null 2>&1; then from="--no-index --find-links /tmp/stage"; fi \\
 && /opt/stage/bin/pip install --no-cache-dir --disable-pip-version-check $from -r /tmp/stage/requirements.txt

# Only the venv goes on: the wheels and pip's work stay in the stage above.
FROM ${BASE_IMAGE}
# A fixed numeric uid, so Kubernetes' runAsNonRoot can verify it and host-side tools can reason
# about file ownership under /pfs/out.
RUN groupadd --gid 10001 pachlite \\
 && useradd --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin pachlite
COPY --from=packages /opt/stage /opt/stage
WORKDIR /app
COPY scripts/ /app/scripts/

ENV PATH=/opt/stage/bin:$PATH \\
    PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1
USER 10001:10001
"""

DOCKERIGNORE = """\
# Only what pachyderm/Dockerfile copies goes to the engine (.venv alone is hundreds of MB).
*
!scripts/
!pachyderm/wheels/
**/__pycache__
"""


def copied(dockerfile: str) -> list[str]:
    """The build-context paths a Dockerfile's COPY and ADD lines copy, in order. Patterns
    (`wheel[s]`) are left out: they copy nothing when nothing matches, by design."""
    out: list[str] = []
    for line in dockerfile.replace("\\\n", " ").splitlines():
        words = line.split()
        if len(words) < 3 or words[0].upper() not in ("COPY", "ADD"):
            continue
        if any(w.startswith("--from") for w in words):
            continue
        sources = [w for w in words[1:-1] if not w.startswith("--")]
        out += [s.rstrip("/") or "." for s in sources if not any(c in s for c in "*?[")]
    return list(dict.fromkeys(out))


def image_files(root: Path, dockerfile_path: str, sources: list[str]) -> list[str]:
    """Every file the image is built from, relative to root, sorted as `LC_ALL=C sort` sorts."""
    found = {dockerfile_path}
    for s in sources:
        p = root / s
        if p.is_file():
            found.add(s)
        elif p.is_dir():
            found |= {f.relative_to(root).as_posix() for f in p.rglob("*")
                      if f.is_file() and not any(part == SKIPPED[0] for part in f.parts)
                      and not f.name.endswith(SKIPPED[1])}
    return sorted(found, key=lambda s: s.encode())


def build_tag(root: Path, dockerfile_path: str, dockerfile: str) -> str:
    """The image's content tag: sha256 of the `sha256sum` manifest of its files (the Dockerfile's
    own text given, as it may not be written yet), first 12 hex digits, as deploy.sh computes it."""
    manifest = ""
    for rel in image_files(root, dockerfile_path, copied(dockerfile)):
        data = dockerfile.encode() if rel == dockerfile_path else (root / rel).read_bytes()
        manifest += f"{hashlib.sha256(data).hexdigest()}  {rel}\n"
    return hashlib.sha256(manifest.encode()).hexdigest()[:12]


def image_repo(image: str) -> str:
    """An image name without its tag (`registry:5000/a/b:tag` → `registry:5000/a/b`)."""
    name, _, tag = image.rpartition(":")
    return name if name and "/" not in tag else image


def tag_images(pipelines: list[dict], image: str, tag: str) -> None:
    """Name the stage image by its content tag in the specs that run it; others keep theirs."""
    for p in pipelines:
        t = p.get("transform", {})
        if image and image_repo(t.get("image", "")) == image_repo(image):
            t["image"] = f"{image_repo(image)}:{tag}"


def annotate(spec: dict) -> str:
    """Record the spec's own hash in it, for deploy.sh to tell a changed spec from the deployed one."""
    meta = spec.get("metadata", {})
    meta.get("annotations", {}).pop(SPEC_HASH, None)
    # A spec generated before (a round trip) hashes as the one it was generated from.
    if meta.get("annotations") == {}:
        del meta["annotations"]
    if spec.get("metadata") == {}:
        del spec["metadata"]
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    spec.setdefault("metadata", {}).setdefault("annotations", {})[SPEC_HASH] = digest
    return digest


def deploy_script(pipelines: list[dict], hashes: dict[str, str], repos: dict[str, list[str]],
                  image: str | None, files: list[str], tag: str, out_dir: str, header: str,
                  project: str = "default") -> str:
    """The cluster session with pachctl: the image, the input repos and data, the pipelines, all in
    the workflow's project (pachctl's current project may be another)."""
    q = shlex.quote
    at = f"--project {q(project)}"
    lines = [
        "#!/usr/bin/env bash",
        f"# {header}",
        "# Deploys the workflow to the Pachyderm cluster that pachctl's context points at.",
        f"#   {out_dir}/deploy.sh            build the stage image, load or push it, create the input",
        "#                                  repos that are missing (with their data), create or",
        "#                                  update the pipelines whose spec changed (upstream first)",
        f"#   {out_dir}/deploy.sh --dry-run  check the image's files, print those commands",
        "# Environment: BASE_IMAGE (the stage image's base, default python:3.11-slim),",
        "# TARGET=minikube (default: load the image into minikube) or TARGET=registry (docker push",
        "# the image to the registry its name points at).",
        "set -euo pipefail",
        'cd "$(dirname "$0")/.."',
        "BASE_IMAGE=${BASE_IMAGE:-python:3.11-slim}",
        "TARGET=${TARGET:-minikube}",
        'DRY_RUN=0; [[ "${1:-}" == "--dry-run" ]] && DRY_RUN=1',
        'run() { if (( DRY_RUN )); then printf "%q " "$@" | sed "s/ $//"; echo; else "$@"; fi; }',
        'fail() { echo "deploy.sh: $*" >&2; exit 1; }',
        'SHA=sha256sum; command -v sha256sum >/dev/null || SHA="shasum -a 256"',
        "# What the cluster has (nothing when pachctl is missing or reaches no cluster).",
        'deployed() { command -v pachctl >/dev/null && pachctl inspect "$@" --raw 2>/dev/null || true; }',
        "",
    ]
    if image:
        dockerfile = f"{out_dir}/Dockerfile"
        sources = " ".join(q(f) for f in files)
        lines += [
            f"# 1. The stage image {image}, tagged by the content of the files it is built from",
            f"for f in {sources}; do",
            '  [[ -e "$f" ]] || fail "$f is missing, and the stage image is built from it: restore it '
            '(\'pachlite generate\' writes a missing Dockerfile)"',
            "done",
            f"tag=$(find {sources} -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 "
            "| LC_ALL=C sort -zu | xargs -0 $SHA | $SHA | cut -c1-12)",
            f'[[ "$tag" == {tag} ]] || fail "the image\'s files changed since the specs were generated '
            '(their tag is now $tag): run \'pachlite generate\' and deploy again"',
            f'run docker build -f {dockerfile} --build-arg "BASE_IMAGE=$BASE_IMAGE" -t {q(image)} .',
            f'if [[ "$TARGET" == minikube ]]; then run minikube image load {q(image)}; '
            f"else run docker push {q(image)}; fi",
            "",
        ]
    lines.append(f"# 2. Input repos of project {project}, created with their data when the cluster lacks them")
    if project != "default":
        lines.append(f'[[ -n "$(deployed project {q(project)})" ]] || run pachctl create project {q(project)}')
    for repo, paths in repos.items():
        lines.append(f'if [[ -z "$(deployed repo {repo} {at})" ]]; then')
        lines.append(f"  run pachctl create repo {at} {repo}")
        for path in paths:
            flag = "-r " if not path.endswith((".csv", ".json", ".txt")) else ""
            dest = "/" if flag else "/" + path.rsplit("/", 1)[-1]
            lines.append(f"  run pachctl put file {at} {repo}@master:{dest} {flag}-f {q(path)}")
        lines.append("fi")
    lines += [
        "",
        "# 3. Pipelines, upstream first: created when absent, updated when their spec (image tag",
        f"#    included) differs from the deployed one, by its {SPEC_HASH} annotation",
        "pipeline() {",
        f'  local info; info=$(deployed pipeline "$1" {at})',
        f'  if [[ -z "$info" ]]; then run pachctl create pipeline {at} -f "{out_dir}/$1.json"',
        f'  elif [[ "$info" != *"$2"* ]]; then run pachctl update pipeline {at} -f "{out_dir}/$1.json"',
        '  else echo "# pipeline $1 is up to date"; fi',
        "}",
    ]
    lines += [f"pipeline {p['pipeline']['name']} {hashes[p['pipeline']['name']]}" for p in pipelines]
    return "\n".join(lines) + "\n"
