"""`input.pfs.trigger` through the real command, as pachd's CreatePipeline honours it: the
input's branch gets the trigger, so the pipeline runs only when the trigger moves that branch."""

from __future__ import annotations

import json

SPEC = {"pipeline": {"name": "trig"},
        "input": {"pfs": {"repo": "data", "glob": "/*", "branch": "staging",
                          "trigger": {"branch": "master", "commits": 2}}},
        "transform": {"cmd": ["sh", "-c", "cp /pfs/data/* /pfs/out/"]}}


def put(cli, name: str) -> None:
    cli("put", "file", f"data@master:/{name}", "-f", cli.file(name, name))


def files(cli, address: str) -> list[str]:
    return [line.split()[0] for line in cli.out("list", "file", address).splitlines()[1:]]


def test_the_pipeline_runs_only_when_its_inputs_trigger_fires(cli):
    cli("create", "repo", "data")
    put(cli, "a")
    cli("create", "pipeline", "-f", cli.spec(SPEC))
    assert cli.raw("inspect", "branch", "data@staging")["trigger"] == {"branch": "master", "commits": "2"}
    assert cli.jobs() == []  # staging has no commit until the trigger fires
    put(cli, "b")  # the second commit on master: staging moves, and the job runs
    cli("run")
    assert files(cli, "trig@master") == ["/a", "/b"]
    put(cli, "c")  # one commit: no move, no job
    cli("run")
    assert files(cli, "trig@master") == ["/a", "/b"] and len(cli.jobs()) == 1
    put(cli, "d")
    cli("run")
    assert files(cli, "trig@master") == ["/a", "/b", "/c", "/d"] and len(cli.jobs()) == 2


def test_without_a_branch_the_trigger_branch_is_named_as_pachd_names_it(cli):
    cli("create", "repo", "data")
    put(cli, "a")
    spec = json.loads(json.dumps(SPEC))
    del spec["input"]["pfs"]["branch"], spec["input"]["pfs"]["trigger"]["branch"]
    cli("create", "pipeline", "-f", cli.spec(spec))
    assert cli.raw("inspect", "branch", "data@trig-trigger-1")["trigger"] == {"branch": "master", "commits": "2"}
    spec["input"]["pfs"]["trigger"]["cronSpec"] = "@daily"
    spec["pipeline"]["name"] = "other"
    p = cli("create", "pipeline", "-f", cli.spec(spec), ok=False)
    assert "trigger.cronSpec cannot run locally" in p.stderr
    assert "other" not in [line.split()[1] for line in cli.out("list", "pipeline").splitlines()[1:]]
