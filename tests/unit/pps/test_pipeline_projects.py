"""Pipelines in projects: `pipeline.project`, `input.pfs.project` (defaulting to the pipeline's),
the output repo and jobs in the pipeline's project, PPS_PROJECT_NAME, and pachd's checks."""

from __future__ import annotations

import pytest

from helpers import get, put
from pachlite.errors import Conflict, NotFound, SpecError
from pachlite.pps import api, pipeline as pl, spec as specs
from pachlite.store import fsck

SAY = ["sh", "-c", "echo $PPS_PROJECT_NAME $PPS_PIPELINE_NAME > /pfs/out/who; cp -r /pfs/*/x /pfs/out/ "
       "2>/dev/null; true"]


def spec(name: str, project: str | None, *inputs: dict) -> dict:
    pipeline = {"name": name, **({"project": {"name": project}} if project else {})}
    tree = inputs[0] if len(inputs) == 1 else {"cross": list(inputs)}
    return {"pipeline": pipeline, "input": tree, "transform": {"cmd": SAY}}


def pfs_input(repo: str, **kw) -> dict:
    return {"pfs": {"repo": repo, "glob": "/", **kw}}


def test_the_running_spec_reads_repos_by_key():
    s = specs.PipelineSpec.of(specs.normalize(spec(
        "edges", "p1", pfs_input("images"), pfs_input("images", project="default", name="shared"))))
    assert (s.name, s.project, s.pipeline_name) == ("p1/edges", "p1", "edges")
    assert [(n["repo"], n["name"]) for n in s.pfs_inputs] == [("p1/images", "images"),
                                                              ("images", "shared")]
    assert s.input_repos == ["p1/images", "images"]
    # The spec as given is kept as given: `repo` stays the name the user wrote.
    assert s.spec["input"]["cross"][0]["pfs"]["repo"] == "images"


def test_a_pipeline_writes_its_project_and_reads_across_projects(pfs):
    pfs.create_project("p1")
    for key in ("images", "p1/images"):
        pfs.create_repo(key)
        put(pfs, key, {"/x": key})
    pl.create_pipeline(pfs, spec("edges", "p1", pfs_input("images")))
    pl.create_pipeline(pfs, spec("edges", None, pfs_input("images", project="p1")))
    assert {r.action for r in pl.run(pfs)} == {"ran"}

    assert get(pfs, "p1/edges@master:/who") == b"p1 edges\n"  # PPS_PROJECT_NAME, PPS_PIPELINE_NAME
    assert get(pfs, "p1/edges@master:/x") == b"p1/images"
    assert get(pfs, "edges@master:/who") == b"default edges\n"
    assert get(pfs, "edges@master:/x") == b"p1/images"  # the other project's repo
    assert [p.name for p in pl.list_pipeline(pfs, "p1")] == ["p1/edges"]
    assert [j.pipeline for j in api.list_job(pfs, project="p1")] == ["p1/edges"]
    assert [j.pipeline for j in api.list_job(pfs, project="default")] == ["edges"]
    [(prov_repo, _, _)] = pfs.resolve(pfs_addr("edges")).provenance
    assert prov_repo == "p1/images"

    # The default project's `images` moving runs neither: both read p1's.
    put(pfs, "images", {"/y": "new"})
    assert {r.action for r in pl.run(pfs)} == {"up to date"}
    pl.delete_pipeline(pfs, "p1/edges")
    assert [p.name for p in pl.list_pipeline(pfs)] == ["edges"]
    assert fsck(pfs.store) == []


def pfs_addr(key: str):
    from pachlite.pfs.address import Address
    return Address(key, "master")


def test_a_pipeline_in_a_missing_project_or_reading_one_is_refused(pfs):
    pfs.create_repo("images")
    with pytest.raises(NotFound, match="pipeline edges is in project p1, which does not exist; "
                                       "create it with 'pachlite create project p1'"):
        pl.create_pipeline(pfs, spec("edges", "p1", pfs_input("images", project="default")))
    pfs.create_project("p1")
    with pytest.raises(NotFound, match="reads repo p1/images, which does not exist"):
        pl.create_pipeline(pfs, spec("edges", "p1", pfs_input("images")))
    assert pl.list_pipeline(pfs) == [] and [r.key for r in pfs.list_repo()] == ["images"]


@pytest.mark.parametrize("where, bad, names", [
    ("pipeline", "-p", "pipeline.project.name: invalid project name '-p': it must start"),
    ("pipeline", "p" * 52, "pipeline.project.name: invalid project name"),
    ("input", "a.b", "input.pfs.project: invalid project name 'a.b'"),
])
def test_pachds_project_name_rules_apply_to_specs(where, bad, names):
    s = spec("edges", bad if where == "pipeline" else None,
             pfs_input("images", **({"project": bad} if where == "input" else {})))
    with pytest.raises(SpecError, match=names.replace(".", r"\.")):
        specs.normalize(s, "spec.json")


def test_a_pipeline_may_read_a_repo_of_its_own_name_in_another_project(pfs):
    pfs.create_project("p1")
    pfs.create_repo("edges")
    put(pfs, "edges", {"/x": "raw"})
    pl.create_pipeline(pfs, spec("edges", "p1", pfs_input("edges", project="default")))
    pl.run(pfs)
    assert get(pfs, "p1/edges@master:/x") == b"raw"
    with pytest.raises(SpecError, match="reads its own output repo"):
        specs.normalize(spec("edges", "p1", pfs_input("edges")))


def test_deleting_a_project_by_force_takes_its_pipelines_unless_another_project_reads_it(pfs):
    pfs.create_project("p1")
    pfs.create_repo("p1/images")
    put(pfs, "p1/images", {"/x": "1"})
    pl.create_pipeline(pfs, spec("edges", "p1", pfs_input("images")))
    pl.create_pipeline(pfs, spec("again", "p1", pfs_input("edges")))
    pl.create_pipeline(pfs, spec("outside", None, pfs_input("images", project="p1")))
    pl.run(pfs)
    with pytest.raises(Conflict, match="pipelines outside of other projects read repos of project p1"):
        pl.delete_project(pfs, "p1", force=True)
    assert len(pl.list_pipeline(pfs, "p1")) == 2  # nothing changed
    pl.delete_pipeline(pfs, "outside")
    pl.delete_project(pfs, "p1", force=True)
    assert [p.name for p in pfs.list_project()] == ["default"]
    assert pl.list_pipeline(pfs) == [] and pfs.list_repo(None) == [] and fsck(pfs.store) == []
