"""transform.secrets in container mode: the variable in the container's environment, the
secret's keys as read-only files at mountPath (a Docker bind mount, as a secret volume)."""

from __future__ import annotations

import base64
import json

import pytest

from docker_helpers import BASE_IMAGE, require_image_inputs

require_image_inputs()  # one line for the module where Docker is missing; before the imports below

from helpers import contents, put  # noqa: E402
from pachlite.pps import pipeline as pl, secrets  # noqa: E402

pytestmark = pytest.mark.docker


def test_a_container_gets_the_variable_and_the_mounted_files(pfs):
    m = {"metadata": {"name": "creds"}, "data": {"pw": base64.b64encode(b"s3cret").decode()}}
    secrets.create(pfs.store, secrets.parse_manifest(json.dumps(m).encode(), "s.json"))
    pfs.create_repo("data")
    put(pfs, "data", {"/a": "a"})
    pl.create_pipeline(pfs, {
        "pipeline": {"name": "show"}, "input": {"pfs": {"repo": "data", "glob": "/*"}},
        "transform": {"image": BASE_IMAGE, "cmd": ["sh", "-c", 'printf %s "$PW" > /pfs/out/env; '
                                              "cat /run/creds/pw > /pfs/out/file; "
                                              "touch /run/creds/x 2>/dev/null || echo ro > /pfs/out/ro"],
                      "secrets": [{"name": "creds", "key": "pw", "envVar": "PW"},
                                  {"name": "creds", "mountPath": "/run/creds"}]}}, container=True)
    [r] = pl.run(pfs, ["show"], container=True)
    assert r.job.state == "success", r.job.reason
    assert contents(pfs, "show@master", text=True) == {"/env": "s3cret", "/file": "s3cret", "/ro": "ro\n"}
