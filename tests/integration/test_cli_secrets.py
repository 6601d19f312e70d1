"""`create/list/inspect/delete secret` and `transform.secrets` through the real command: a
pipeline's code reads `$PW` and a mounted file; no output ever shows a value."""

from __future__ import annotations

import base64
import json
import os

import pytest

from pachlite.pps.executors import namespace

VALUE = "hunter2-never-printed"
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "type": "Opaque",
          "data": {"password": base64.b64encode(VALUE.encode()).decode()},
          "stringData": {"user": "alice"}}
SPEC = {"pipeline": {"name": "show"}, "input": {"pfs": {"repo": "data", "glob": "/*"}},
        "transform": {"cmd": ["sh", "-c", 'printf %s "$PW" > /pfs/out/env; '
                              "cat /etc/creds/user > /pfs/out/user; ls /etc/creds > /pfs/out/keys"],
                      "secrets": [{"name": "creds", "key": "password", "envVar": "PW"},
                                  {"name": "creds", "mountPath": "/etc/creds"}]}}
needs_namespaces = pytest.mark.skipif(namespace.unavailable() is not None,
                                      reason=f"no private /pfs here: {namespace.unavailable()}")


@pytest.fixture
def cli(cli):
    cli("create", "secret", "-f", cli.file("secret.json", json.dumps(SECRET)))
    cli("create", "repo", "data")
    cli("put", "file", "data@master:/f", "-f", cli.file("f", "x"))
    return cli


def test_secret_verbs_print_pachctls_table_and_never_a_value(cli):
    lines = cli.out("list", "secret").splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "CREATED"]
    assert lines[1].split()[:2] == ["creds", "Opaque"] and lines[1].endswith("ago")
    assert cli.out("inspect", "secret", "creds").splitlines()[1].split()[:2] == ["creds", "Opaque"]
    p = cli("create", "secret", "-f", "secret.json", ok=False)
    assert "already exists" in p.stderr and VALUE not in p.stderr
    cli("delete", "secret", "creds")
    assert cli.out("list", "secret").splitlines() == ["NAME TYPE CREATED"]
    assert "secret creds not found" in cli("inspect", "secret", "creds", ok=False).stderr


@needs_namespaces
def test_user_code_reads_the_variable_and_the_mounted_files(cli):
    cli("create", "pipeline", "-f", cli.spec(SPEC))
    assert cli.out("get", "file", "show@master:/env") == VALUE
    assert cli.out("get", "file", "show@master:/user") == "alice"
    assert cli.out("get", "file", "show@master:/keys").split() == ["password", "user"]
    shown = "".join(cli.out(*args) for args in (("inspect", "pipeline", "show"),
                                                ("inspect", "pipeline", "show", "--raw"),
                                                ("logs", "-p", "show"), ("list", "job", "--raw")))
    assert "creds" in shown and VALUE not in shown and SECRET["data"]["password"] not in shown


def test_a_missing_secret_or_key_is_refused_at_create(cli):
    for secret, words in [({"name": "nope", "key": "k", "envVar": "X"}, "missing secret nope"),
                          ({"name": "creds", "key": "pw", "envVar": "X"}, "secret creds missing key pw"),
                          ({"envVar": "X", "key": "k"}, "the secret has no name")]:
        spec = {**SPEC, "transform": {"cmd": ["true"], "secrets": [secret]}}
        assert words in cli("create", "pipeline", "-f", cli.spec(spec), ok=False).stderr
    assert cli.out("list", "pipeline").splitlines()[1:] == []


def test_without_namespaces_a_mount_is_refused_and_a_variable_still_set(cli):
    cli.env["PACHLITE_USERNS"] = "0"
    p = cli("create", "pipeline", "-f", cli.spec(SPEC), ok=None)  # (after the fallback's notice)
    error = p.stderr.splitlines()[-1]
    assert p.returncode == 1 and error.startswith("pachlite: error: ")
    assert "mountPath cannot be honoured" in error and "--container" in error
    env_only = {**SPEC, "transform": {**SPEC["transform"], "cmd": ["sh", "-c", 'printf %s "$PW" > /pfs/out/env'],
                                      "secrets": SPEC["transform"]["secrets"][:1]}}
    cli("create", "pipeline", "-f", cli.spec(env_only))
    assert cli.out("get", "file", "show@master:/env") == VALUE


@needs_namespaces
def test_a_secret_deleted_after_create_fails_the_job_in_one_line(cli):
    cli("create", "pipeline", "-f", cli.spec(SPEC))
    cli("delete", "secret", "creds")
    p = cli("run", "show", "--reprocess", ok=False)
    assert "missing secret creds" in p.stderr


@needs_namespaces
@pytest.mark.skipif(not os.path.islink("/lib"), reason="needs /lib to be a symbolic link (usrmerge)")
def test_a_mount_path_through_a_symbolic_link_fails_the_datum_and_makes_nothing_on_the_host(cli):
    leaf = f"pachlite-test-{os.getpid()}"
    spec = {**SPEC, "datumTries": 1,
            "transform": {"cmd": ["true"], "secrets": [{"name": "creds", "mountPath": f"/lib/{leaf}"}]}}
    p = cli("create", "pipeline", "-f", cli.spec(spec), ok=False)
    assert "cannot mount a secret at" in p.stderr and "symbolic link" in p.stderr
    assert not os.path.lexists(os.path.join(os.path.realpath("/lib"), leaf))
