"""Cron pipelines through the real command: the tick repo made at create, `run cron` ticking and
running the job before it returns, `delete pipeline` taking the tick repo along."""

from __future__ import annotations

import re

SPEC = {"pipeline": {"name": "clock"},
        "input": {"cross": [{"cron": {"name": "tick", "spec": "@daily"}},
                            {"pfs": {"repo": "data", "glob": "/*"}}]},
        "transform": {"cmd": ["sh", "-c", 'cp $data "/pfs/out/$(basename $data)-$(basename $tick)"']}}
TICK = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def test_run_cron_ticks_now_and_runs_the_job(cli):
    cli("create", "repo", "data")
    cli("put", "file", "data@master:/a", "-f", cli.file("a", "A"))
    p = cli("create", "pipeline", "-f", cli.spec(SPEC))
    assert "clock: waiting: input clock_tick@master has no commits yet" in p.stdout + p.stderr
    repos = {line.split()[1]: line for line in cli.out("list", "repo").splitlines()[1:]}
    assert "Cron tick repo for pipeline clock." in repos["clock_tick"]
    p = cli("run", "cron", "clock")
    assert re.search(r"clock: job \w+ success: 1 \+ 0 / 1", p.stdout + p.stderr)
    [tick] = [line.split()[0] for line in cli.out("list", "file", "clock_tick@master").splitlines()[1:]]
    assert TICK.fullmatch(tick.lstrip("/"))
    assert cli.out("get", "file", f"clock@master:/a-{tick.lstrip('/')}") == "A"
    assert "pipeline data not found" in cli("run", "cron", "data", ok=False).stderr
    cli("delete", "pipeline", "clock")
    assert [line.split()[1] for line in cli.out("list", "repo").splitlines()[1:]] == ["data"]
