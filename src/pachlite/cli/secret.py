"""Secret verbs: create, list, inspect and delete secret (pachctl's, over pps/secrets.py). No
command prints a secret's values: `inspect secret` shows its name, type and age, as pachctl does."""

from __future__ import annotations

import click

from pachlite.cli import pretty
from pachlite.cli.groups import create, delete, inspect, list_
from pachlite.cli.output import open_pfs
from pachlite.errors import InvalidInput

HEADER = ("NAME", "TYPE", "CREATED")  # pachctl's pretty.SecretHeader


@create.command("secret")
@click.option("-f", "--file", "path", required=True, help="File containing Kubernetes secret.")
def create_secret(path: str) -> None:
    """Create a secret on the cluster."""
    from pachlite.pps import secrets
    try:
        with open(path, "rb") as f:
            text = f.read()
    except OSError as e:
        raise InvalidInput(f"cannot read {path} ({e.strerror})",
                           "give the path of a Kubernetes Secret manifest (JSON)") from None
    secret = secrets.parse_manifest(text, path)
    secrets.create(open_pfs().store, secret)


@list_.command("secret")
def list_secret() -> None:
    """List all secrets from a namespace in the cluster."""
    from pachlite.pps import secrets
    rows = secrets.list_secrets(open_pfs().store)
    click.echo(pretty.table(HEADER, [(s.name, s.type, pretty.ago(s.created)) for s in rows]))


@inspect.command("secret")
@click.argument("name")
def inspect_secret(name: str) -> None:
    """Inspect a secret from the cluster."""
    from pachlite.pps import secrets
    s = secrets.inspect(open_pfs().store, name)
    click.echo(pretty.table(HEADER, [(s.name, s.type, pretty.ago(s.created))]))


@delete.command("secret")
@click.argument("name")
def delete_secret(name: str) -> None:
    """Delete a secret from the cluster."""
    from pachlite.pps import secrets
    secrets.delete(open_pfs().store, name)
