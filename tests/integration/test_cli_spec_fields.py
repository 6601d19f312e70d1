"""Every field of a 2.x spec through the real command: honoured, warned once, or refused in one
line at `create pipeline` with nothing stored (pps/spec/fields.py)."""

import copy

import pytest

from pachlite.pps.spec.fields import FIELDS, REFUSED, WARNED

BASE = {"pipeline": {"name": "p"}, "input": {"pfs": {"repo": "data", "glob": "/*"}},
        "transform": {"cmd": ["sh", "-c", "cp -r /pfs/data/* /pfs/out/"]}}
# A value pachd accepts for each refused or warned field.
VALUES = {
    "tfJob": {"tfJob": "{}"}, "egress": {"URL": "s3://bucket/dir"}, "s3Out": True,
    "resourceRequests": {"memory": "1G"}, "resourceLimits": {"cpu": 1},
    "sidecarResourceLimits": {"cpu": 1}, "sidecarResourceRequests": {"cpu": 1},
    "service": {"internalPort": 8888, "externalPort": 30888}, "spout": {},
    "datumSetSpec": {"number": 2}, "salt": "abc", "schedulingSpec": {"nodeSelector": {"a": "b"}},
    "podSpec": "{}", "podPatch": "[]", "metadata": {"labels": {"a": "b"}},
    "autoscaling": True, "tolerations": [{"key": "k"}], "determined": {"workspaces": ["w"]},
    "maximumExpectedUptime": "60s",
    "transform.secrets": [{"name": "s", "envVar": "S", "key": "k"}],
    "transform.imagePullSecrets": ["s"], "transform.debug": True, "transform.dockerfile": "Dockerfile",
    "transform.memoryVolume": True,
    "input.pfs.repoType": "spec", "input.pfs.commit": "abc", "input.pfs.lazy": True,
    "input.pfs.s3": True, "input.pfs.trigger": {"branch": "master", "size": "1M"},
    "input.pfs.propagationSpec": {"never": True}, "input.pfs.reference": True,
    "input.cron": {"name": "tick", "spec": "@every 10s"},
}


def with_field(key: str) -> dict:
    spec = copy.deepcopy(BASE)
    if key == "input.cron":
        spec["input"] = {"cron": VALUES[key]}
    elif key.startswith("input.pfs."):
        spec["input"]["pfs"][key.rsplit(".", 1)[1]] = VALUES[key]
    elif key.startswith("transform."):
        spec["transform"][key.split(".", 1)[1]] = VALUES[key]
    else:
        spec[key] = VALUES[key]
    return spec


@pytest.fixture
def cli(cli):
    cli("create", "repo", "data")
    cli("put", "file", "data@master:/", "-f", cli.file("f1", "one"), "-f", cli.file("f2", "two!"))
    return cli


def test_every_refused_field_is_one_line_naming_it_and_stores_nothing(cli):
    for key in [k for k, (decision, _, _) in FIELDS.items() if decision == REFUSED]:
        p = cli("create", "pipeline", "-f", cli.spec(with_field(key)), ok=False)
        assert key.rsplit(".", 1)[-1] in p.stderr, (key, p.stderr)  # names the field
        assert "p" not in cli.out("list", "pipeline").split()[1:], key
    assert cli.jobs() == []


def test_user_is_refused_outside_container_mode(cli):
    spec = copy.deepcopy(BASE)
    spec["transform"]["user"] = "root"
    p = cli("create", "pipeline", "-f", cli.spec(spec), ok=False)
    assert "transform.user" in p.stderr and "--container" in p.stderr


def test_every_warned_field_warns_once_and_runs(cli):
    warned = [k for k, (decision, _, _) in FIELDS.items() if decision == WARNED]
    spec = copy.deepcopy(BASE)
    for key in warned:
        one = with_field(key)
        spec = {**one, **{k: v for k, v in spec.items() if k not in ("transform", "input")},
                "transform": {**spec["transform"], **one["transform"]},
                "input": {"pfs": {**spec["input"]["pfs"], **one["input"]["pfs"]}}}
    p = cli("create", "pipeline", "-f", cli.spec(spec))
    lines = p.stderr.splitlines()
    for key in warned:
        assert sum(line.startswith(f"pachlite: warning: {key} has no effect locally (") for line in lines) == 1, \
            (key, p.stderr)
    assert cli.jobs()[0]["state"] == "success"
    # run --spec with the same spec (a Snakemake rule's rerun): quiet
    assert "warning" not in cli("run").stderr


def test_job_timeout_kills_a_long_job_with_pachds_reason(cli):
    spec = copy.deepcopy(BASE)
    spec["jobTimeout"] = "2s"
    spec["transform"]["cmd"] = ["sh", "-c", "sleep 20"]
    p = cli("create", "pipeline", "-f", cli.spec(spec), ok=None)
    assert p.returncode == 1, p.stderr
    [job] = cli.jobs()
    assert job["state"] == "failure" and job["reason"] == "job timed out"
    assert "job timed out" in cli.out("inspect", "job", f"p@{job['id']}")


def test_empty_files_gives_zero_byte_files(cli):
    spec = copy.deepcopy(BASE)
    spec["input"]["pfs"]["emptyFiles"] = True
    spec["transform"]["cmd"] = ["sh", "-c", "f=$(ls /pfs/data); wc -c < /pfs/data/$f > /pfs/out/$f"]
    cli("create", "pipeline", "-f", cli.spec(spec))
    assert cli.out("get", "file", "p@master:/f1").strip() == "0"
    assert cli.out("get", "file", "p@master:/f2").strip() == "0"


def test_working_dir_is_the_commands_cwd(cli):
    spec = copy.deepcopy(BASE)
    spec["transform"]["workingDir"] = "/pfs/data"
    spec["transform"]["cmd"] = ["sh", "-c", "cat ./* > /pfs/out/$(ls); ls /pfs/data > /pfs/out/$(ls).dir"]
    cli("create", "pipeline", "-f", cli.spec(spec))
    assert cli.out("get", "file", "p@master:/f1") == "one"
    assert cli.out("get", "file", "p@master:/f1.dir") == "f1\n"
    assert cli.out("get", "file", "p@master:/f2") == "two!"
