"""Spec verbs: generate (declarations → pachyderm/), upgrade spec (1.x → 2.x), deploy."""

from __future__ import annotations

import sys

import click

from pachlite.cli.groups import cli, upgrade
from pachlite.errors import PachliteError

DEFAULTS = dict(declarations="pipelines.py", config="config/config.yaml", out_dir="pachyderm")


@cli.command("generate")
@click.option("--declarations", default=DEFAULTS["declarations"], show_default=True,
              help="Python file defining pipelines(config) and repos(config).")
@click.option("--config", default=DEFAULTS["config"], show_default=True,
              help="The workflow's config file, passed to the declarations.")
@click.option("--out-dir", default=DEFAULTS["out_dir"], show_default=True,
              help="Folder the specs and deploy.sh are written to.")
@click.option("--check", is_flag=True, help="Fail if a committed file is stale; write nothing.")
def generate_cmd(declarations: str, config: str, out_dir: str, check: bool) -> None:
    """Write one Pachyderm 2.x spec per pipeline, and deploy.sh, from the declarations."""
    from pachlite.pps import generate as gen
    files = gen.generate(declarations, config)
    if check:
        stale = gen.stale(files, out_dir)
        if stale:
            raise PachliteError(f"{', '.join(stale)} in {out_dir}/ differ from what "
                                f"{declarations} and {config} generate",
                                "run 'pachlite generate' and commit the result")
        click.echo(f"{len(files)} files in {out_dir}/ are up to date")
        return
    changed = gen.write(files, out_dir)
    for name in sorted(files):
        click.echo(f"{'wrote' if name in changed else 'unchanged'} {out_dir}/{name}")


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
@click.option("--out-dir", default=DEFAULTS["out_dir"], show_default=True,
              help="Folder holding the generated specs and deploy.sh.")
def deploy(dry_run: bool, out_dir: str) -> None:
    """Run pachyderm/deploy.sh: build the image, create repos, put data, create pipelines."""
    import subprocess
    from pathlib import Path
    script = Path(out_dir) / "deploy.sh"
    if not script.exists():
        raise PachliteError(f"{script} does not exist", "run 'pachlite generate' first")
    sys.exit(subprocess.call(["bash", str(script)] + (["--dry-run"] if dry_run else [])))
