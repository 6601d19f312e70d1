"""Commit sets (global ids) through the real `pachlite` command, as pachctl 2.x shows them: an input
commit's id carried by the jobs and output commits it causes (`list commit <id>`, `inspect commit
repo@<id>`, `list job <id>`, `inspect job pipeline@<id>`, PACH_JOB_ID), one job per commit set,
`wait commit`/`wait job`, `squash commit`/`delete commit` with pachd's refusals, and a failed
job's output commit finished with its error."""

import time

import pytest

# Writes each file and the job id it ran in (PACH_JOB_ID), so a test sees which job made what.
COPY = {"pipeline": {"name": "copy"}, "input": {"pfs": {"repo": "data", "glob": "/*"}},
        "transform": {"cmd": ["sh", "-c", "cp $data /pfs/out/; "
                                          "echo $PACH_JOB_ID > /pfs/out/job_$(basename $data)"]}}
COUNT = {"pipeline": {"name": "count"}, "input": {"pfs": {"repo": "copy", "glob": "/"}},
         "transform": {"cmd": ["sh", "-c", "ls /pfs/copy | wc -l | tr -d ' ' > /pfs/out/n"]}}


@pytest.fixture
def cli(cli):
    """The `cli` fixture with a repo `data` holding /a, read by copy, read by count."""
    cli("create", "repo", "data")
    cli("put", "file", "data@master:/a", "-f", cli.file("a", "1"))
    cli("create", "pipeline", "-f", cli.spec(COPY))
    cli("create", "pipeline", "-f", cli.spec(COUNT, "count.json"))
    return cli


def commit_of(cli, addr: str) -> dict:
    """`inspect commit --raw` (pachd's CommitInfo): the fields these tests read."""
    c = cli.raw("inspect", "commit", addr)
    return {"id": c["commit"]["id"], "origin": c["origin"]["kind"], "error": c.get("error", ""),
            "size": int(c.get("details", {}).get("size_bytes", 0)),
            "parent": c.get("parent_commit", {}).get("id"),
            "provenance": [(p["repo"]["name"], (p.get("branch") or {}).get("name"), p["id"])
                           for p in c.get("direct_provenance", [])]}


def job_of(j: dict) -> dict:
    """A `--raw` JobInfo: pipeline, id, state (as pachlite names it) and reason."""
    return {"pipeline": j["job"]["pipeline"]["name"], "id": j["job"]["id"],
            "state": j["state"].removeprefix("JOB_").lower(), "reason": j.get("reason", "")}


def put(cli, path: str, text: str) -> str:
    """Put a file into data@master; the id of the commit (the commit set it starts)."""
    cli("put", "file", f"data@master:{path}", "-f", cli.file(path.strip("/"), text))
    return commit_of(cli, "data@master")["id"]


def test_an_input_commits_id_is_carried_by_its_jobs_and_their_output_commits(cli):
    s = put(cli, "/b", "2")
    ran = cli.out("run")
    assert ran == f"copy: job {s} success: 1 + 1 / 2\ncount: job {s} success: 1 + 0 / 1\n"

    # pachctl list commit <id>: the set's commit in every repo, upstream first.
    lines = cli.out("list", "commit", s).splitlines()
    assert lines[0].split() == ["PROJECT", "REPO", "BRANCH", "COMMIT", "FINISHED", "SIZE",
                                "ORIGIN", "DESCRIPTION"]
    assert [(c.split()[1], c.split()[3]) for c in lines[1:]] == [
        ("data", s), ("copy", s), ("count", s)]
    # inspect commit repo@<id> finds the set's commit in any repo of the DAG.
    count = commit_of(cli, f"count@{s}")
    assert (count["id"], count["origin"], count["error"]) == (s, "AUTO", "")
    # Its direct provenance (pachd's CommitInfo.direct_provenance) is its input's commit of the set.
    assert {(r, c) for r, _, c in count["provenance"]} == {("copy", s)}
    assert cli.out("inspect", "commit", f"count@{s}").startswith(f"Commit: count@{s}\n")
    assert cli.out("get", "file", f"copy@{s}:/job_b") == f"{s}\n"  # PACH_JOB_ID is the set's

    # pachctl list job <id>: the job set; inspect job pipeline@<id>.
    jobs = [job_of(j) for j in cli.raw("list", "job", s)]
    assert [(j["pipeline"], j["id"], j["state"]) for j in jobs] == [
        ("copy", s, "success"), ("count", s, "success")]
    table = cli.out("list", "job", s).splitlines()
    assert table[0].split()[:3] == ["PROJECT", "PIPELINE", "ID"] and len(table) == 3
    shown = cli.out("inspect", "job", f"copy@{s}")
    assert f"ID: {s}\n" in shown and shown.endswith(f"Output commit: copy@{s}\n")
    assert f"Inputs: data@master={s}" in shown


def test_two_commits_before_one_run_make_two_jobs_in_order_each_a_delta(cli):
    first, second = put(cli, "/b", "2"), put(cli, "/c", "3")
    ran = cli.out("run").splitlines()
    # One job per commit set, oldest first; the second ran only what its commit changed.
    assert ran == [f"copy: job {first} success: 1 + 1 / 2", f"copy: job {second} success: 1 + 2 / 3",
                   f"count: job {first} success: 1 + 0 / 1", f"count: job {second} success: 1 + 0 / 1"]
    assert cli.out("get", "file", f"count@{first}:/n") == "4\n"  # /a, /b and their job files
    assert cli.out("get", "file", f"count@{second}:/n") == "6\n"
    assert cli.out("get", "file", "copy@master:/job_c") == f"{second}\n"
    assert cli.out("get", "file", "copy@master:/job_b") == f"{first}\n"
    assert cli.out("run") == (f"copy: up to date (job {second} success)\n"
                              f"count: up to date (job {second} success)\n")


def test_a_failed_jobs_output_commit_is_finished_with_its_error_and_downstream_is_unrunnable(cli):
    good = commit_of(cli, "count@master")["id"]
    cli("update", "pipeline", "-f", cli.spec({**COPY, "datumTries": 1, "transform": {
        "cmd": ["sh", "-c", "grep -q bad $data && exit 3; cp $data /pfs/out/"]}}))
    s = put(cli, "/b", "bad")
    cli("run", ok=None)
    copy, count = job_of(cli.raw("inspect", "job", f"copy@{s}")), job_of(cli.raw("inspect", "job", f"count@{s}"))
    assert copy["state"] == "failure" and copy["reason"].endswith("command exited with code 3")
    assert (count["state"], count["reason"]) == (
        "unrunnable", "unrunnable because the following upstream pipelines failed: copy")
    for repo, job in (("copy", copy), ("count", count)):
        head = commit_of(cli, f"{repo}@master")
        assert (head["id"], head["error"], head["size"]) == (s, job["reason"], 0)
        assert f"Error: {job['reason']}\n" in cli.out("inspect", "commit", f"{repo}@{s}")
        for verb in (("get", "file", f"{repo}@master:/n"), ("list", "file", f"{repo}@{s}")):
            err = cli(*verb, ok=False).stderr
            assert f"commit {s} finished with an error: {job['reason']}" in err
            assert f"read the last output that succeeded, e.g. {repo}@{s}^" in err
    # The last good output: the errored commit's parent, by ancestry or by its own id.
    assert cli.out("get", "file", "count@master^:/n") == "2\n"
    assert cli.out("get", "file", f"count@{good}:/n") == "2\n"


def test_wait_returns_at_once_when_finished_and_refuses_what_nothing_will_make(cli):
    s = put(cli, "/b", "2")
    # Nothing runs copy: its commit of this set does not exist and nothing will make it.
    err = cli("wait", "commit", f"copy@{s}", ok=False).stderr
    assert f"commit {s} not found in repo copy" in err
    cli("run")
    assert cli.out("wait", "commit", f"count@{s}").startswith(f"Commit: count@{s}\n")
    assert job_of(cli.raw("wait", "job", f"count@{s}"))["state"] == "success"
    cli("wait", "job", "count@0123456789abcdef0123456789abcdef", ok=False)


def test_wait_job_waits_for_the_job_another_process_runs(cli):
    gate = cli.root / "gate"
    cli("update", "pipeline", "-f", cli.spec({**COPY, "transform": {
        "cmd": ["sh", "-c", f"while [ ! -e {gate} ]; do sleep 0.1; done; cp $data /pfs/out/"]}},
        "slow.json"), ok=None)
    s = put(cli, "/b", "2")
    run = cli.popen("run", "copy", text=True)
    try:
        deadline = time.monotonic() + 30
        while not any(j["job"]["id"] == s for j in cli.raw("list", "job", "-p", "copy")):
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.1)
        waiting = cli.popen("wait", "job", f"copy@{s}", "--raw", text=True)
        time.sleep(1)
        assert waiting.poll() is None  # the job is still running: wait waits
        gate.touch()
        out, _ = waiting.communicate(timeout=60)
        assert waiting.returncode == 0 and '"state": "JOB_SUCCESS"' in out
    finally:
        gate.touch()
        run.communicate(timeout=60)


def test_squash_and_delete_commit_with_pachds_refusals(cli):
    first, second = put(cli, "/b", "2"), put(cli, "/c", "3")
    cli("run")
    # The newest set is every branch's head: squashing it would lose data.
    err = cli("squash", "commit", second, ok=False).stderr
    assert "cannot squash a commit that has no children as that would cause data loss, use the " \
           f"drop operation instead: data@{second}" in err
    # The older set has children: it cannot be dropped, only squashed into them.
    err = cli("delete", "commit", first, ok=False).stderr
    assert f"cannot drop a commit that has children: data@{first}" in err

    cli("squash", "commit", first)
    assert cli("list", "commit", first, ok=False).stderr.startswith(
        f"pachlite: error: no commits found for commitset {first}")
    assert [j["job"]["id"] for j in cli.raw("list", "job", "-p", "copy")][:1] == [second]
    assert first not in {j["job"]["id"] for j in cli.raw("list", "job")}
    assert cli.out("get", "file", "copy@master:/b") == "2"  # the children kept their files
    assert commit_of(cli, "copy@master")["parent"] not in (first, None)

    cli("delete", "commit", second)  # the heads: each branch goes back to the parent
    assert [f["file"]["path"] for f in cli.raw("list", "file", "data@master")] == ["/a"]
    assert cli.out("get", "file", "count@master:/n") == "2\n"
    assert cli.out("run").count("up to date") == 2  # the branches are where the last jobs left them
    assert cli.out("fsck") == "no problems found\n"
    cli("delete", "commit", second, ok=False)


def test_a_commit_set_that_a_later_set_was_computed_from_is_not_squashed(cli):
    cli("create", "repo", "other")
    cli("put", "file", "other@master:/x", "-f", cli.file("x", "x"))
    both = {"pipeline": {"name": "both"}, "transform": {"cmd": ["sh", "-c", "true"]},
            "input": {"cross": [{"pfs": {"repo": "data", "glob": "/"}},
                                {"pfs": {"repo": "other", "glob": "/"}}]}}
    cli("create", "pipeline", "-f", cli.spec(both, "both.json"))
    s = put(cli, "/b", "2")
    cli("run")
    cli("put", "file", "other@master:/y", "-f", cli.file("y", "y"))  # both@later reads data@s
    cli("put", "file", "data@master:/c", "-f", cli.file("c", "3"))
    cli("run")
    later = commit_of(cli, "other@master")["id"]
    err = cli("squash", "commit", s, ok=False).stderr
    assert f"commit set '{s}' cannot be dropped because it has subvenant commit sets: {later}" in err
