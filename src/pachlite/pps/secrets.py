"""Secrets, as pachd keeps them: Kubernetes Secret manifests read and checked as `pachctl create
secret` (pachd's CreateSecret) reads them, and `transform.secrets` given to user code as a worker
pod gets them — an `envVar` set from one key, a `mountPath` holding one file per key (a secret
volume). pachd's validateSecret checks at create that each named secret (and an envVar's key)
exists; a job checks again when it starts, since a secret can be deleted in between.

No value is ever put in a message: errors name the secret and the key, never what it holds.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import posixpath
import re
import time
from pathlib import Path

from pachlite.errors import Conflict, InvalidInput, NotFound
from pachlite.store import secrets as rows
from pachlite.store.db import Store
from pachlite.store.secrets import SecretRow

# Kubernetes' rules: a Secret's name is a DNS-1123 subdomain, a key is IsConfigMapKey's.
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_MAX = 253
DEFAULT_TYPE = "Opaque"  # what the Kubernetes API fills in


def parse_manifest(text: bytes, source: str) -> SecretRow:
    """A Kubernetes Secret manifest (JSON, as pachd unmarshals it) → the secret to store."""
    def bad(problem: str, fix: str) -> InvalidInput:
        return InvalidInput(problem, fix, where=source)
    try:
        m = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise bad(f"failed to unmarshal secret: {e.__class__.__name__}",
                  'give a Kubernetes Secret as JSON: {"apiVersion": "v1", "kind": "Secret", '
                  '"metadata": {"name": ...}, "data": {...}}') from None
    if not isinstance(m, dict):
        raise bad("the secret is not a JSON object", "give one Kubernetes Secret manifest")
    if m.get("kind", "Secret") != "Secret" or m.get("apiVersion", "v1") != "v1":
        raise bad(f"the manifest is a {m.get('apiVersion')}/{m.get('kind')}, not a v1/Secret",
                  'set "apiVersion": "v1" and "kind": "Secret"')
    meta = m.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(name, str) or not name:
        raise bad("the secret has no metadata.name", 'set "metadata": {"name": "<name>"}')
    if len(name) > _MAX or not _NAME.fullmatch(name):
        raise bad(f"secret name {name!r} is not a DNS-1123 subdomain (lower-case letters, digits, "
                  "'-' and '.', starting and ending with a letter or digit)", "rename the secret")
    labels = meta.get("labels") or {}
    if isinstance(labels, dict) and labels.get("suite") not in (None, "", "pachyderm"):
        raise bad(f"invalid suite label set on secret: suite={labels['suite']}",
                  'remove the "suite" label, or set it to "pachyderm"')
    kind = m.get("type") or DEFAULT_TYPE
    if not isinstance(kind, str):
        raise bad("the secret's type is not a string", 'set "type": "Opaque", or leave it out')
    data: dict[str, str] = {}
    for field, encoded in (("data", True), ("stringData", False)):  # stringData wins, as in Kubernetes
        given = m.get(field) or {}
        if not isinstance(given, dict):
            raise bad(f"{field} is not an object", f'give "{field}" as {{"key": "value"}}')
        for key, value in given.items():
            if len(key) > _MAX or key in (".", "..") or key.startswith("..") or not _KEY.fullmatch(key):
                raise bad(f"{field} key {key!r} may hold only letters, digits, '-', '_' and '.'",
                          "rename the key")
            if not isinstance(value, str):
                raise bad(f"{field}.{key} is not a string", "give each value as a string")
            if encoded:
                try:
                    base64.b64decode(value, validate=True)
                except (binascii.Error, ValueError):
                    raise bad(f"data.{key} is not base64", "encode it (base64 -w0), or put it "
                              "in stringData as plain text") from None
                data[key] = value
            else:
                data[key] = base64.b64encode(value.encode()).decode()
    return SecretRow(name, kind, time.time(), data)


def create(store: Store, secret: SecretRow) -> None:
    """Store a new secret; as in Kubernetes, one of that name must not exist."""
    if rows.get(store, secret.name) is not None:
        raise Conflict(f"failed to create secret: secret {secret.name} already exists",
                       f"delete it first with 'pachlite delete secret {secret.name}'")
    rows.put(store, secret)


def inspect(store: Store, name: str) -> SecretRow:
    row = rows.get(store, name)
    if row is None:
        raise NotFound(f"secret {name} not found",
                       f"known secrets: {', '.join(rows.names(store)) or 'none'}; create it with "
                       "'pachlite create secret -f FILE'")
    return row


def list_secrets(store: Store) -> list[SecretRow]:
    return [r for r in map(lambda n: rows.get(store, n), rows.names(store)) if r is not None]


def delete(store: Store, name: str) -> None:
    if not rows.delete(store, name):
        inspect(store, name)  # the NotFound, with the known names


# ---- transform.secrets ------------------------------------------------------------------------

def check(store: Store, transform: dict, where: str | None = None) -> None:
    """pachd's validateSecret: each named secret exists, and an envVar's key is in it."""
    for s in transform.get("secrets") or ():
        name = s.get("name")
        if s.get("envVar") and not s.get("key"):
            raise InvalidInput(f"secret {name} has env_var set but is missing key",
                               'name the key whose value the variable gets: "key": "<key>"',
                               where=where)
        row = rows.get(store, name)
        if row is None:
            raise NotFound(f"missing secret {name}",
                           f"create it with 'pachlite create secret -f FILE' (known secrets: "
                           f"{', '.join(rows.names(store)) or 'none'})", where=where)
        path = posixpath.normpath(s.get("mountPath") or "/x")
        if not path.startswith("/") or path in ("/", "/pfs") or path.startswith("/pfs/"):
            raise InvalidInput(f"secret {name}: mountPath {s['mountPath']!r} must be an absolute "
                               "path outside /pfs", "mount it at e.g. /secrets/<name>", where=where)
        if s.get("envVar") and s["key"] not in row.data:
            raise NotFound(f"secret {name} missing key {s['key']}",
                           f"its keys are {', '.join(sorted(row.data)) or 'none'}", where=where)


def check_create(store: Store, spec: dict, container: bool | None, source: str) -> None:
    """At create: `check`, and a mountPath refused where it cannot be honoured (no namespace,
    not in container mode)."""
    transform = spec.get("transform") or {}
    check(store, transform, source)
    if container is False and mounts_wanted(transform):
        from pachlite.pps.executors import namespace
        why = namespace.unavailable()
        if why is not None:
            raise InvalidInput(f"transform.secrets mountPath cannot be honoured: {why}",
                               "create the pipeline with --container, or pass the secret "
                               "through `envVar`", where=source)


def mounts_wanted(transform: dict) -> list[str]:
    return [s["mountPath"] for s in transform.get("secrets") or () if s.get("mountPath")]


def environment(store: Store, transform: dict) -> dict[str, str]:
    """The variables `envVar` entries set (values as the bytes stored, undecodable ones kept
    with surrogateescape so the process gets exactly them)."""
    check(store, transform, "transform.secrets")
    out = {}
    for s in transform.get("secrets") or ():
        if s.get("envVar"):
            raw = base64.b64decode(rows.get(store, s["name"]).data[s["key"]])
            out[s["envVar"]] = raw.decode(errors="surrogateescape")
    return out


def lay_out(store: Store, transform: dict, folder: Path) -> list[tuple[str, str]]:
    """Each `mountPath` entry's secret as a folder of one file per key under `folder` (which
    must be private to this user); → [(host folder, mountPath)]. Files and folders are made
    readable, not writable, by any user: only the container's user reaches them (bound in), as a
    secret volume's 0644 files; `folder` itself keeps everyone else out on the host. Bound
    read-only, so user code cannot change them."""
    check(store, transform, "transform.secrets")
    out = []
    for i, s in enumerate(transform.get("secrets") or ()):
        if not s.get("mountPath"):
            continue
        host = folder / f"secret-{i}"
        host.mkdir(mode=0o700, parents=True)
        for key, value in rows.get(store, s["name"]).data.items():
            fd = os.open(host / key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(base64.b64decode(value))
            os.chmod(host / key, 0o444)
        os.chmod(host, 0o755)  # (not 0555: the job's scratch folder must stay removable)
        out.append((str(host), posixpath.normpath(s["mountPath"])))
    return out


def for_workers(store: Store, transform: dict, root: Path, container: bool
                ) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """A job's secrets for its workers: the variables to add to their environment and, in
    container mode, the (host folder, mountPath) bind mounts. Locally the mounts travel in the
    environment to the namespace launcher; where there is no namespace they cannot be honoured,
    and the job is refused in one line."""
    env = environment(store, transform)
    if not mounts_wanted(transform):
        return env, []
    if container:
        return env, lay_out(store, transform, root / "secrets")
    from pachlite.pps.executors import namespace
    why = namespace.unavailable()
    if why is not None:
        raise InvalidInput(f"transform.secrets mountPath cannot be honoured: {why}",
                           "run with --container, or pass the secret through `envVar`")
    mounts = lay_out(store, transform, root / "secrets")
    return {**env, namespace.SECRETS_VAR: "\n".join(p for pair in mounts for p in pair)}, []
