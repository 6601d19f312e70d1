"""Delta planning gives the full plan's steps: same datums run and deleted, same counts, the
unchanged ones skipped without a step each; and a job run on it commits the same output."""

import random

import pytest

from helpers import datums, put
from pachlite.pfs.address import Address
from pachlite.pps import pipeline as pl, spec as specs
from pachlite.pps.job import Job
from pachlite.pps.states import Action

# Each datum writes one file named after its id: outputs can be compared across runs.
WRITE_ID = ["sh", "-c", "echo $PACH_DATUM_ID > /pfs/out/$PACH_DATUM_ID"]


def delete(pfs, repo, paths) -> None:
    pfs.write_commit(repo, "master", {p: None for p in paths})


def job(pfs, name="p") -> Job:
    p = pl.inspect_pipeline(pfs, name)
    return Job(pfs, specs.PipelineSpec.of(p.spec), p.salt, p.version)


def steps(plan, action):
    return {(s.datum_id, s.hash) for s in plan.steps if s.action == action}


def assert_same_plan(pfs, name="p", delta_expected=True):
    delta, _ = job(pfs, name).plan()
    full, _ = job(pfs, name).plan(full=True)
    assert (delta.carried > 0) == delta_expected
    assert steps(delta, Action.RUN) == steps(full, Action.RUN)
    assert steps(delta, Action.DELETE) == steps(full, Action.DELETE)
    assert steps(delta, Action.SKIP) <= steps(full, Action.SKIP)
    assert (delta.count(Action.SKIP), delta.total) == (full.count(Action.SKIP), full.total)
    return delta, full


TREE = {"/a/1": "a1", "/a/2": "a2", "/b/1": "b1", "/c": "c", "/d/e/f": "def"}

INPUTS = {
    "files": {"pfs": {"repo": "data", "glob": "/*"}},
    "nested": {"pfs": {"repo": "data", "glob": "/*/*"}},
    "everything": {"pfs": {"repo": "data", "glob": "/**"}},
    "captures": {"pfs": {"repo": "data", "glob": "/(*)/*"}},
    "cross": {"cross": [{"pfs": {"repo": "data", "glob": "/*"}},
                        {"pfs": {"repo": "model", "glob": "/"}}]},
    "union": {"union": [{"pfs": {"repo": "data", "glob": "/*"}},
                        {"pfs": {"repo": "model", "glob": "/*", "name": "m"}}]},
}

CHANGES = {
    "add a top-level file": lambda pfs: put(pfs, "data", {"/z": "new"}),
    "add a file in a folder": lambda pfs: put(pfs, "data", {"/a/3": "a3"}),
    "rewrite a file": lambda pfs: put(pfs, "data", {"/a/1": "changed"}),
    "rewrite with the same content": lambda pfs: put(pfs, "data", {"/c": "c"}),
    "delete a file": lambda pfs: delete(pfs, "data", ["/c"]),
    "delete a whole folder": lambda pfs: delete(pfs, "data", ["/b/1"]),
    "a deep change": lambda pfs: put(pfs, "data", {"/d/e/g": "new"}),
    "change the model": lambda pfs: put(pfs, "model", {"/model.json": "v2"}),
}


@pytest.fixture
def pfs(pfs):
    for repo in ("data", "model"):
        pfs.create_repo(repo)
    put(pfs, "data", TREE)
    put(pfs, "model", {"/model.json": "v1"})
    return pfs


@pytest.mark.parametrize("input_name", INPUTS)
@pytest.mark.parametrize("change", CHANGES)
def test_delta_plan_equals_full_plan_and_the_job_commits_the_same(pfs, input_name, change):
    pl.create_pipeline(pfs, {"pipeline": {"name": "p"}, "input": INPUTS[input_name],
                             "transform": {"cmd": WRITE_ID}})
    [first] = pl.run(pfs, ["p"])
    assert first.job.state == "success"
    CHANGES[change](pfs)
    if change == "change the model" and "model" not in str(INPUTS[input_name]):
        return  # the pipeline does not read it: no job
    # Whenever some datums are unchanged, they are carried rather than listed.
    delta, full = assert_same_plan(pfs, delta_expected=full_has_skips(pfs))
    [second] = pl.run(pfs, ["p"])
    assert second.job.state == "success", second.job.reason
    assert (second.job.processed, second.job.skipped, second.job.total) == (
        full.count(Action.RUN), full.count(Action.SKIP), full.total)
    # The same output as a pipeline that has only ever seen the new commits.
    pl.create_pipeline(pfs, {"pipeline": {"name": "fresh"}, "input": INPUTS[input_name],
                             "transform": {"cmd": WRITE_ID}})
    [fresh] = pl.run(pfs, ["fresh"])
    assert pfs.files(second.job.output_commit) == pfs.files(fresh.job.output_commit)
    ids = [d["id"] for d in datums(pfs, second.job)]  # a record of every datum, once
    assert len(set(ids)) == len(ids) == second.job.total


def full_has_skips(pfs) -> bool:
    full, _ = job(pfs).plan(full=True)
    return full.count(Action.SKIP) > 0


def test_one_new_file_among_many_is_one_step(pfs):
    put(pfs, "data", {f"/many/{i:04d}": str(i) for i in range(500)})
    pl.create_pipeline(pfs, {"pipeline": {"name": "p"},
                             "input": {"cross": [{"pfs": {"repo": "data", "glob": "/many/*"}},
                                                 {"pfs": {"repo": "model", "glob": "/"}}]},
                             "transform": {"cmd": WRITE_ID}})
    pl.run(pfs, ["p"])
    put(pfs, "data", {"/many/zzzz": "new"})
    delta, _ = assert_same_plan(pfs)
    assert [s.action for s in delta.steps] == [Action.RUN] and delta.carried == 500


def test_a_new_output_clashing_with_a_carried_one_fails_the_job(pfs):
    pl.create_pipeline(pfs, {"pipeline": {"name": "p"}, "input": {"pfs": {"repo": "data", "glob": "/*"}},
                             "transform": {"cmd": ["sh", "-c", "echo x > /pfs/out/same"]}})
    put(pfs, "data", {"/zz": "only datum"})
    delete(pfs, "data", list(TREE))
    [first] = pl.run(pfs, ["p"])
    assert first.job.state == "success"
    put(pfs, "data", {"/yy": "second"})
    [second] = pl.run(pfs, ["p"])
    assert second.job.state == "failure"
    assert "duplicate path output by different datums (/same from" in second.job.reason


def test_join_and_group_take_the_full_plan(pfs):
    pl.create_pipeline(pfs, {"pipeline": {"name": "p"},
                             "input": {"group": [{"pfs": {"repo": "data", "glob": "/(*)/*",
                                                          "groupBy": "$1"}}]},
                             "transform": {"cmd": WRITE_ID}})
    pl.run(pfs, ["p"])
    put(pfs, "data", {"/a/3": "a3"})
    assert_same_plan(pfs, delta_expected=False)


def test_random_changes_keep_plans_equal(pfs):
    rnd = random.Random(7)
    pl.create_pipeline(pfs, {"pipeline": {"name": "p"}, "input": INPUTS["nested"],
                             "transform": {"cmd": WRITE_ID}})
    pl.run(pfs, ["p"])
    for _ in range(6):
        paths = [p for p, _, _ in pfs.files(pfs.resolve(Address("data", "master")).id)]
        if paths and rnd.random() < 0.3:
            delete(pfs, "data", [rnd.choice(paths)])
        else:
            put(pfs, "data", {f"/{rnd.choice('abxy')}/{rnd.randrange(5)}": str(rnd.random())})
        full, _ = job(pfs).plan(full=True)
        delta, _ = job(pfs).plan()
        assert steps(delta, Action.RUN) == steps(full, Action.RUN)
        assert steps(delta, Action.DELETE) == steps(full, Action.DELETE)
        assert delta.total == full.total
        [r] = pl.run(pfs, ["p"])
        assert r.job.state == "success", r.job.reason


def test_a_branch_moved_back_is_compared_by_its_file_lists(pfs):
    pl.create_pipeline(pfs, {"pipeline": {"name": "p"}, "input": INPUTS["nested"],
                             "transform": {"cmd": WRITE_ID}})
    before = pfs.resolve(Address("data", "master")).id
    put(pfs, "data", {"/a/9": "new", "/b/1": "changed"})
    pl.run(pfs, ["p"])
    pfs.create_branch("data", "master", Address("data", commit=before))
    delta, full = assert_same_plan(pfs)  # no change log leads back: the lists are compared
    assert {s.action for s in delta.steps} == {Action.RUN, Action.DELETE}


def test_change_logs_follow_every_commit_since_the_base_job(pfs):
    pl.create_pipeline(pfs, {"pipeline": {"name": "p"}, "input": INPUTS["everything"],
                             "transform": {"cmd": WRITE_ID}})
    pl.run(pfs, ["p"])
    put(pfs, "data", {"/x/1": "one"})
    delete(pfs, "data", ["/a"])          # a folder: every file under it is logged
    put(pfs, "data", {"/x/1": "two"})
    delta, _ = assert_same_plan(pfs)
    assert delta.carried > 0
