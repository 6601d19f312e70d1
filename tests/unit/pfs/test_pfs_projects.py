"""Projects in PFS, as pachd's PFS API server has them: create, update, list, inspect and delete
(refused while repos remain, unless forced), and repos of one name in two projects kept apart."""

from __future__ import annotations

import pytest

from helpers import get, put
from pachlite.errors import Conflict, InvalidInput, NotFound
from pachlite.pfs.address import parse
from pachlite.store import fsck


def test_a_store_starts_with_the_default_project(pfs):
    [default] = pfs.list_project()
    assert (default.name, default.description) == ("default", "")


def test_project_lifecycle(pfs):
    p = pfs.create_project("p1", "first")
    assert (p.name, p.description) == ("p1", "first") and p.created > 0
    assert [x.name for x in pfs.list_project()] == ["default", "p1"]
    assert pfs.create_project("p1", "second", update=True).description == "second"
    with pytest.raises(Conflict, match="project p1 already exists"):
        pfs.create_project("p1")
    pfs.delete_project("p1")
    with pytest.raises(NotFound, match="project p1 not found; known projects: default; create it with"):
        pfs.inspect_project("p1")
    with pytest.raises(NotFound, match="project p1 not found"):
        pfs.create_project("p1", "x", update=True)


def test_a_repo_needs_an_existing_project(pfs):
    with pytest.raises(NotFound, match="project p1 not found; .*'pachlite create project p1'"):
        pfs.create_repo("p1/images")
    with pytest.raises(InvalidInput, match="invalid project name 'bad name'"):
        pfs.create_repo("bad name/images")
    assert pfs.list_repo(None) == []


def test_one_repo_name_in_two_projects_is_two_repos(pfs):
    pfs.create_project("p1")
    pfs.create_repo("images")
    pfs.create_repo("p1/images", "p1's")
    put(pfs, "images", {"/a": "default"})
    put(pfs, "p1/images", {"/a": "p1", "/b": "only here"})
    assert get(pfs, "images@master:/a") == b"default" and get(pfs, "p1/images@master:/a") == b"p1"
    assert len(pfs.list_commit("images")) == len(pfs.list_commit("p1/images")) == 1
    pfs.create_branch("p1/images", "dev", parse("p1/images@master"))
    assert [b.name for b in pfs.list_branch("images")] == ["master"]
    assert [b.name for b in pfs.list_branch("p1/images")] == ["dev", "master"]

    assert [(r.project, r.name) for r in pfs.list_repo("p1")] == [("p1", "images")]
    assert [(r.project, r.name) for r in pfs.list_repo("default")] == [("default", "images")]
    assert {r.key for r in pfs.list_repo(None)} == {"images", "p1/images"}
    info = pfs.inspect_repo("p1/images")
    assert (info.project, info.name, info.description, info.size) == ("p1", "images", "p1's", 11)

    pfs.create_project("p2")
    with pytest.raises(NotFound, match="repo images not found in project p2"):
        pfs.inspect_repo("p2/images")
    with pytest.raises(InvalidInput, match="in repo p1/images, not images"):
        pfs.create_branch("images", "x", parse("p1/images@master"))
    pfs.delete_repo("p1/images")
    assert get(pfs, "images@master:/a") == b"default"
    assert fsck(pfs.store) == []


def test_project_names_with_like_wildcards_list_only_their_own_repos(pfs):
    """`_` is a wildcard of SQL's LIKE: project a_b must not list project axb's repos."""
    for project in ("a_b", "axb"):
        pfs.create_project(project)
        pfs.create_repo(f"{project}/r")
    assert [r.key for r in pfs.list_repo("a_b")] == ["a_b/r"]
    assert [r.key for r in pfs.list_repo("axb")] == ["axb/r"]


def test_a_project_with_repos_is_deleted_only_by_force(pfs):
    pfs.create_project("p1")
    pfs.create_repo("p1/images")
    put(pfs, "p1/images", {"/a": "1"})
    pfs.create_repo("images")
    with pytest.raises(Conflict, match="cannot delete project p1: repo p1/images still exists; "
                                       "delete its repos first, or pass --force"):
        pfs.delete_project("p1")
    assert [r.key for r in pfs.list_repo("p1")] == ["p1/images"]  # nothing changed
    pfs.delete_project("p1", force=True)
    assert [p.name for p in pfs.list_project()] == ["default"]
    assert [r.key for r in pfs.list_repo(None)] == ["images"]
    assert fsck(pfs.store) == []
