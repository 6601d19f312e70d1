"""`pachlite init`: a new workflow project, from the template beside this module.

The template holds a generic Snakefile (one rule per Pachyderm spec in pipelines/, input repos
mirrored from data/), its own config and schema, a pandas stage with its tests and requirements,
a sample of data and a Makefile; `pachlite generate` then writes pachyderm/ (specs, Dockerfile,
deploy.sh). With a folder of existing Pachyderm specs, those replace the example stage, and an
empty data/<repo>/ is made for each repo they read and none writes.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from pachlite.errors import InvalidInput
from pachlite.pps import spec as specs

TEMPLATE = Path(__file__).parent / "template"
RENAMES = {"gitignore": ".gitignore"}  # dotfiles and .py files are stored under other names, so
SUFFIX = ".tmpl"                       # packaging keeps them and linters skip the templates
EXAMPLE_STAGE = ("pipelines/summary.yaml", "scripts/summary.py", "tests/test_summary.py", "data/readings")


def project_name(target: Path) -> str:
    """The folder's name as an image name: lower case, [a-z0-9._-], starting alphanumeric."""
    name = re.sub(r"[^a-z0-9._-]+", "-", target.resolve().name.lower()).strip("-._")
    return name or "pipelines"


def template_files() -> dict[str, Path]:
    """Project path → template file."""
    out = {}
    for f in sorted(TEMPLATE.rglob("*")):
        if f.is_file() and "__pycache__" not in f.parts:
            rel = f.relative_to(TEMPLATE).as_posix().removesuffix(SUFFIX)
            out[RENAMES.get(rel, rel)] = f
    return out


def spec_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise InvalidInput("is not a folder of Pachyderm spec files", "give a folder of *.json or *.yaml specs",
                           where=str(folder))
    files = sorted(f for f in folder.iterdir() if f.suffix.lower() in (".json", ".yaml", ".yml"))
    if not files:
        raise InvalidInput("holds no spec file (*.json, *.yaml, *.yml)", "give a folder of pipeline specs",
                           where=str(folder))
    return files


def init(target: Path, from_specs: Path | None = None, force: bool = False) -> list[str]:
    """Write the project into target; the paths written. Refuses a non-empty target unless force:
    then the scaffold's files overwrite those of the same name and nothing else is touched."""
    if target.exists() and not target.is_dir():
        raise InvalidInput("is a file", "give a new or empty folder", where=str(target))
    if target.exists() and any(target.iterdir()) and not force:
        raise InvalidInput("is not empty", "give a new or empty folder, or --force to write the "
                           "scaffold's files over those of the same name", where=str(target))
    name = project_name(target)
    files = template_files()
    given = spec_files(from_specs) if from_specs else []
    if given:
        files = {p: f for p, f in files.items() if not p.startswith(EXAMPLE_STAGE)}
        # Checked before anything is written: a spec pachd would reject stops here.
        read = [specs.normalize(raw, str(f)) for f in given for raw in specs.load_specs(f)]
    written = []
    for rel, src in files.items():
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(src.read_text().replace("{{name}}", name))
        written.append(rel)
    for f in given:
        (target / "pipelines").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target / "pipelines" / f.name)
        written.append(f"pipelines/{f.name}")
    if given:
        outputs = {p["pipeline"]["name"] for p in read}
        for repo in sorted({r for p in read for r in specs.input_repos(p)} - outputs):
            (target / "data" / repo).mkdir(parents=True, exist_ok=True)
            written.append(f"data/{repo}/")
    return written
