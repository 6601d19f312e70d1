"""Workflow verbs: init (a new project), generate (declarations or a spec folder → pachyderm/),
upgrade spec (1.x → 2.x), deploy."""

from __future__ import annotations

import sys

import click

from pachlite.cli.groups import cli, upgrade
from pachlite.errors import PachliteError

DEFAULTS = dict(declarations="pipelines.py", config="config/config.yaml", out_dir="pachyderm")


@cli.command("generate")
@click.option("--declarations", default=DEFAULTS["declarations"], show_default=True,
              help="Python file defining pipelines(config) and repos(config).")
@click.option("--specs", "folder", type=click.Path(file_okay=False),
              help="A folder of Pachyderm spec files to generate from instead (default: the config's "
                   "`specs`, when it has one).")
@click.option("--config", default=DEFAULTS["config"], show_default=True)
@click.option("--out-dir", default=DEFAULTS["out_dir"], show_default=True)
@click.option("--check", is_flag=True, help="Fail if a committed file is stale; write nothing.")
def generate_cmd(declarations: str, folder: str | None, config: str, out_dir: str, check: bool) -> None:
    """Write one Pachyderm 2.x spec per pipeline (its image tagged by content), deploy.sh, and the
    stage image's Dockerfile and .dockerignore when missing."""
    from pachlite.pps import generate as gen
    files = gen.generate(declarations, config, out_dir.rstrip("/"), folder)
    if check:
        stale = gen.stale(files)
        if stale:
            raise PachliteError(f"{', '.join(stale)} differ from what the pipelines and {config} generate",
                                "run 'pachlite generate' and commit the result")
        click.echo(f"{len(files)} generated files are up to date")
        return
    changed = gen.write(files)
    for name in sorted(files):
        click.echo(f"{'wrote' if name in changed else 'unchanged'} {name}")


@cli.command("init")
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--from-specs", type=click.Path(exists=True, file_okay=False),
              help="A folder of existing Pachyderm specs (JSON or YAML) to run instead of the example stage.")
@click.option("--force", is_flag=True,
              help="Write into a non-empty DIRECTORY: the scaffold's files replace those of the same name.")
def init_cmd(directory: str, from_specs: str | None, force: bool) -> None:
    """Create a workflow project: a generic Snakefile running the Pachyderm specs in pipelines/,
    data/, a pandas stage with its tests, its config, and pachyderm/ from `pachlite generate`."""
    import os
    from pathlib import Path

    from pachlite.pps import generate as gen
    from pachlite.workflow import scaffold
    target = Path(directory)
    written = scaffold.init(target, Path(from_specs) if from_specs else None, force)
    here = os.getcwd()
    os.chdir(target)  # the project's paths (config, specs, data) are relative to its root
    try:
        generated = gen.write(gen.generate(None, "config/config.yaml"))
    finally:
        os.chdir(here)
    for rel in sorted(set(written) | set(generated)):
        click.echo(f"wrote {target / rel}")
    click.echo(f"Next: cd {target} && make run   (then: pachlite list job; make test)")


@upgrade.command("spec")
@click.option("-f", "--file", "path", required=True, help="A 1.x spec (JSON or YAML).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here, not stdout.")
def upgrade_spec(path: str, output: str | None) -> None:
    """Turn 1.x specs into valid 2.x specs and say what changed (on stderr)."""
    from pachlite.pps import spec as specs
    texts = []
    for raw in specs.load_specs(path):
        new, changes = specs.upgrade_1x(raw, path)
        specs.validate_schema(new, path)
        for c in changes:
            click.echo(f"{path}: {c}", err=True)
        texts.append(specs.emit(new))
    text = "".join(texts)
    if output:
        from pathlib import Path
        Path(output).write_text(text)
    else:
        sys.stdout.write(text)


@cli.command("deploy")
@click.option("--dry-run", is_flag=True, help="Print the pachctl session instead of running it.")
@click.option("--out-dir", default=DEFAULTS["out_dir"], show_default=True)
def deploy(dry_run: bool, out_dir: str) -> None:
    """Run pachyderm/deploy.sh: build the image, create repos, put data, create pipelines."""
    import subprocess
    from pathlib import Path
    script = Path(out_dir) / "deploy.sh"
    if not script.exists():
        raise PachliteError(f"{script} does not exist", "run 'pachlite generate' first")
    sys.exit(subprocess.call(["bash", str(script)] + (["--dry-run"] if dry_run else [])))
