"""Commit sets in the library: a job per commit set (each a delta of the one before), the set's id
in user code's environment, squashing a set under later jobs, and a branch moved back."""

import json

import pytest

from helpers import contents, datums, put
from pachlite.errors import NotFound
from pachlite.pfs.address import Address, parse
from pachlite.pps import commitset, datum as dm, pipeline as pl

ENV = ["sh", "-c", "cp $data /pfs/out/; env | grep -E '^(PACH_JOB_ID|PACH_OUTPUT_COMMIT_ID|"
                   "data_COMMIT)=' | sort > /pfs/out/env_$(basename $data)"]


def spec(name: str, repo: str, cmd, glob: str = "/*") -> dict:
    return {"pipeline": {"name": name}, "input": {"pfs": {"repo": repo, "glob": glob}},
            "transform": {"cmd": cmd}}


def commit_id(pfs, address: str) -> str:
    return pfs.resolve(parse(address)).id


@pytest.fixture
def chain(pfs):
    """data → copy → again, run once on /a."""
    pfs.create_repo("data")
    put(pfs, "data", {"/a": "1"})
    pl.create_pipeline(pfs, spec("copy", "data", ["sh", "-c", "cp $data /pfs/out/"]))
    pl.create_pipeline(pfs, spec("again", "copy", ["sh", "-c", "cp $copy /pfs/out/"]))
    pl.run(pfs)
    return pfs


def test_a_burst_of_commits_makes_a_job_per_set_each_a_delta_layered_on_the_last(chain, monkeypatch):
    pfs = chain
    sets = []
    for name in ("b", "c", "d"):
        put(pfs, "data", {f"/{name}": name})
        sets.append(commit_id(pfs, "data@master"))
    full_plans = []
    real = dm.datums
    monkeypatch.setattr(dm, "datums", lambda *a: full_plans.append(a) or real(*a))
    results = pl.run(pfs)
    assert [(r.pipeline, r.job.id, r.job.processed, r.job.skipped) for r in results] == [
        ("copy", sets[0], 1, 1), ("copy", sets[1], 1, 2), ("copy", sets[2], 1, 3),
        ("again", sets[0], 1, 1), ("again", sets[1], 1, 2), ("again", sets[2], 1, 3)]
    assert full_plans == []  # every job planned from what its commit changed
    # Each job read its input as it was in its set.
    assert set(contents(pfs, f"copy@{sets[0]}")) == {"/a", "/b"}
    assert set(contents(pfs, f"again@{sets[1]}")) == {"/a", "/b", "/c"}
    # A skipped datum costs no row: each job's own layer holds the one datum it ran, over its
    # base job's records, and its listing shows every datum, the carried ones skipped.
    for r in results:
        rows = pfs.store.one("SELECT COUNT(*) FROM datums WHERE job_id=?", (r.job.key,))[0]
        assert rows == r.job.processed == 1
        states = sorted(d["state"] for d in datums(pfs, r.job))
        assert states == ["skipped"] * r.job.skipped + ["success"]


def test_user_code_sees_the_commit_set_as_its_job_and_output_commit_id(pfs):
    pfs.create_repo("src")
    put(pfs, "src", {"/a": "1"})
    pl.create_pipeline(pfs, spec("data", "src", ["sh", "-c", "cp $src /pfs/out/"]))
    pl.create_pipeline(pfs, spec("show", "data", ENV))
    pl.run(pfs)
    put(pfs, "src", {"/b": "2"})
    s = commit_id(pfs, "src@master")
    pl.run(pfs)
    data = pfs.resolve(parse(f"data@{s}"))
    assert data.key != s  # the store's key of an output commit is its own; pachctl shows the set's
    env = contents(pfs, f"show@{s}", text=True)["/env_b"]
    assert env == f"PACH_JOB_ID={s}\nPACH_OUTPUT_COMMIT_ID={s}\ndata_COMMIT={s}\n"
    [d] = [d for d in datums(pfs, pl.inspect_pipeline(pfs, "show").last_job) if d["state"] == "success"]
    assert d["inputs"] == [f"data@{s}:/b"]


def test_a_set_not_in_a_repo_says_which_repos_it_has_commits_in(chain):
    put(chain, "data", {"/b": "2"})
    s = commit_id(chain, "data@master")
    with pytest.raises(NotFound, match=f"commit {s} not found in repo copy") as e:
        chain.resolve(Address("copy", commit=s))
    assert e.value.fix == "its commit set has commits in data"


def test_squashing_a_set_keeps_the_later_jobs_records_and_the_next_run_incremental(chain):
    pfs = chain
    put(pfs, "data", {"/b": "2"})
    first = commit_id(pfs, "data@master")
    put(pfs, "data", {"/c": "3"})
    pl.run(pfs)
    commitset.squash_commit_set(pfs, first)
    later = pl.inspect_pipeline(pfs, "copy").last_job
    rows = datums(pfs, later)
    # The datums the squashed job ran, carried by the later one, keep their hash and outputs.
    assert len(rows) == 3 and all(r["hash"] and r["outputs"] for r in rows)
    assert set(contents(pfs, "again@master")) == {"/a", "/b", "/c"}
    put(pfs, "data", {"/d": "4"})
    [copy, again] = pl.run(pfs)
    assert (copy.job.processed, copy.job.skipped, again.job.processed) == (1, 3, 1)


def test_a_branch_moved_back_runs_in_a_new_commit_set(chain):
    pfs = chain
    old = commit_id(pfs, "data@master")
    put(pfs, "data", {"/b": "2"})
    pl.run(pfs)
    pfs.create_branch("data", "master", parse("data@master^"))
    [copy, again] = pl.run(pfs)
    assert copy.job.id == again.job.id and copy.job.id != old  # pachd: a new commit set
    assert set(contents(pfs, "again@master")) == {"/a"}
    assert json.loads(json.dumps([c.id for c in commitset.list_commit_set(pfs, copy.job.id)])) == [
        copy.job.id, copy.job.id]


def test_a_trigger_that_moves_a_branch_over_several_commits_makes_one_job_for_them(chain):
    """pachd runs a job for each commit an input branch was at, not for the commits of another
    branch that a trigger passed over."""
    from pachlite.store.branch_links import TriggerRow
    pfs = chain
    pfs.create_branch("data", "staging", head=parse("data@master"))
    pfs.create_branch("data", "master", trigger=TriggerRow("data", "master", "staging", "", 2, False))
    put(pfs, "data@staging", {"/b": "2"})
    put(pfs, "data@staging", {"/c": "3"})  # the trigger fires: master moves to this one
    put(pfs, "data", {"/d": "4"})  # then a commit on master itself
    runs = [(r.pipeline, r.job.processed, r.job.skipped) for r in pl.run(pfs)]
    assert runs == [("copy", 2, 1), ("copy", 1, 3), ("again", 2, 1), ("again", 1, 3)]
