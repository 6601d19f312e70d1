"""Secrets (pps/secrets.py over store/secrets.py): Kubernetes Secret manifests read as pachd's
CreateSecret reads them, kept private to their user, and given to user code as a worker pod gets
them (transform.secrets: envVar, mountPath). No message ever holds a value."""

from __future__ import annotations

import base64
import json
import stat

import pytest

from pachlite.errors import Conflict, InvalidInput, NotFound
from pachlite.pps import secrets
from pachlite.store import secrets as rows

VALUE = "hunter2-not-in-messages"


def manifest(name="creds", **kw) -> bytes:
    m = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": "Opaque",
         "data": {"password": base64.b64encode(VALUE.encode()).decode()}, **kw}
    return json.dumps(m).encode()


def test_a_manifest_is_read_as_kubernetes_reads_it():
    s = secrets.parse_manifest(manifest(stringData={"user": "alice", "password": "override"}), "s.json")
    assert s.name == "creds" and s.type == "Opaque"
    # stringData is plain text, stored base64 as data; it wins over data's key of the same name
    assert {k: base64.b64decode(v).decode() for k, v in s.data.items()} == \
        {"password": "override", "user": "alice"}
    assert secrets.parse_manifest(json.dumps({"metadata": {"name": "x"}}).encode(), "s").type == "Opaque"


@pytest.mark.parametrize("text, words", [
    (b"not json", "failed to unmarshal secret"),
    (b"[]", "not a JSON object"),
    (json.dumps({"kind": "ConfigMap", "metadata": {"name": "x"}}).encode(), "not a v1/Secret"),
    (json.dumps({"metadata": {}}).encode(), "no metadata.name"),
    (json.dumps({"metadata": {"name": "Upper_case"}}).encode(), "DNS-1123"),
    (json.dumps({"metadata": {"name": "x", "labels": {"suite": "other"}}}).encode(),
     "invalid suite label set on secret: suite=other"),
    (json.dumps({"metadata": {"name": "x"}, "data": {"k": "not base64!"}}).encode(), "not base64"),
    (json.dumps({"metadata": {"name": "x"}, "data": {"a/b": "eA=="}}).encode(), "key 'a/b'"),
    (json.dumps({"metadata": {"name": "x"}, "stringData": {"k": 1}}).encode(), "not a string"),
    (json.dumps({"metadata": {"name": "x"}, "data": ["k"]}).encode(), "data is not an object"),
])
def test_a_bad_manifest_is_one_error_naming_the_problem(text, words):
    with pytest.raises(InvalidInput, match=words) as e:
        secrets.parse_manifest(text, "s.json")
    assert str(e.value).startswith("s.json: ")


def test_secrets_are_private_files_and_the_value_is_in_no_message(store):
    secrets.create(store, secrets.parse_manifest(manifest(), "s.json"))
    folder = store.root / rows.FOLDER
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert [stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()] == [0o600]
    with pytest.raises(Conflict, match="already exists"):
        secrets.create(store, secrets.parse_manifest(manifest(), "s.json"))
    assert [s.name for s in secrets.list_secrets(store)] == ["creds"]
    assert secrets.inspect(store, "creds").type == "Opaque"
    for transform, words in [({"secrets": [{"name": "nope", "envVar": "X", "key": "k"}]}, "missing secret nope"),
                             ({"secrets": [{"name": "creds", "envVar": "X", "key": "k"}]}, "missing key k"),
                             ({"secrets": [{"name": "creds", "envVar": "X"}]}, "missing key"),
                             ({"secrets": [{"name": "creds", "mountPath": "/pfs/s"}]}, "outside /pfs")]:
        with pytest.raises((NotFound, InvalidInput), match=words) as e:
            secrets.check(store, transform)
        assert VALUE not in str(e.value) and base64.b64encode(VALUE.encode()).decode() not in str(e.value)
    secrets.delete(store, "creds")
    assert secrets.list_secrets(store) == []
    with pytest.raises(NotFound, match="secret creds not found"):
        secrets.delete(store, "creds")


def test_a_name_is_never_a_path(store):
    assert rows.get(store, "../pachlite") is None and rows.get(store, ".x") is None


def test_workers_get_the_variable_and_a_file_per_key(store, tmp_path):
    secrets.create(store, secrets.parse_manifest(manifest(stringData={"user": "alice"}), "s.json"))
    t = {"secrets": [{"name": "creds", "key": "password", "envVar": "PW"},
                     {"name": "creds", "mountPath": "/etc/creds/"}]}
    env, mounts = secrets.for_workers(store, t, tmp_path, container=True)
    assert env == {"PW": VALUE}
    [(host, path)] = mounts
    assert path == "/etc/creds"
    files = {p.name: p.read_text() for p in sorted(tmp_path.joinpath("secrets").glob("*/*"))}
    assert files == {"password": VALUE, "user": "alice"}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o444 for p in tmp_path.glob("secrets/*/*"))
