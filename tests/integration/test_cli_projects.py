"""Projects through the real `pachlite` command, as pachctl 2.5+ has them: create/update/list/
inspect/delete project, --project (or project/repo) on every verb, pipelines and their output
repos in a project, cross-project inputs, the generator's project, and bad input."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from helpers import ROOT, pristine
from pachlite.pps import generate as gen
from pachlite.store import Store, fsck

COPY = ["sh", "-c", "cp -r /pfs/images/* /pfs/out/"]


def edges_spec(home: str | None = "p1", **input_pfs) -> dict:
    """A pipeline (in project `home`) that copies `images` and says which project and pipeline
    it ran as."""
    pipeline = {"name": "edges", **({"project": {"name": home}} if home else {})}
    return {"pipeline": pipeline,
            "input": {"pfs": {"repo": "images", "glob": "/", **input_pfs}},
            "transform": {"cmd": ["sh", "-c", "echo $PPS_PROJECT_NAME $PPS_PIPELINE_NAME > /pfs/out/who; "
                                  "cp -r /pfs/images/* /pfs/out/"]}}


def test_project_verbs_print_pachctl_tables(cli):
    cli("create", "project", "p1", "--description", "first project")
    table = cli.out("list", "project").splitlines()
    assert table[0].split() == ["ACTIVE", "PROJECT", "CREATED", "DESCRIPTION"]
    assert table[1].split()[:2] == ["*", "default"] and table[1].endswith(" -")
    assert table[2].split()[0] == "p1" and table[2].endswith("first project")
    assert [p["project"]["name"] for p in cli.raw("list", "project")] == ["default", "p1"]

    inspect = cli.out("inspect", "project", "p1").splitlines()
    assert inspect[:2] == ["Name: p1", "Description: first project"]
    assert re.fullmatch(r"Created at: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", inspect[2])
    cli("update", "project", "p1", "-d", "renamed")
    assert cli.raw("inspect", "project", "p1")["description"] == "renamed"

    cli("delete", "project", "p1")  # empty: deleted at once
    assert [p["project"]["name"] for p in cli.raw("list", "project")] == ["default"]


def test_a_repo_name_in_two_projects_names_two_repos(cli):
    cli("create", "project", "p1")
    cli("create", "repo", "images", "-d", "default's")
    cli("create", "repo", "images", "--project", "p1", "-d", "p1's")
    cli("put", "file", "images@master:/a", "-f", "-", input="default")
    cli("put", "file", "images@master:/a", "-f", "-", "--project", "p1", input="p1 data")

    assert cli.out("get", "file", "images@master:/a") == "default"
    assert cli.out("get", "file", "images@master:/a", "--project", "p1") == "p1 data"
    assert cli.out("get", "file", "p1/images@master:/a") == "p1 data"  # pachd's Repo.String form
    assert cli.out("get", "file", "default/images@master:/a") == "default"

    repos = cli.out("list", "repo").splitlines()  # the default project's, as pachctl's context
    assert [r.split()[:2] for r in repos] == [["PROJECT", "NAME"], ["default", "images"]]
    assert [r.split()[:2] for r in cli.out("list", "repo", "--project", "p1").splitlines()[1:]] == [
        ["p1", "images"]]
    repos = cli.raw("list", "repo", "-A")
    assert sorted((r["repo"]["project"]["name"], r["repo"]["name"], r["description"]) for r in repos) == [
        ("default", "images", "default's"), ("p1", "images", "p1's")]
    # each repo's branches are in its own project (a RepoInfo is named by its key, not its name)
    assert all(b["repo"] == r["repo"] for r in repos for b in r["branches"]) and all(r["branches"] for r in repos)
    assert "Description: p1's" in cli.out("inspect", "repo", "images", "--project", "p1")

    commits = cli.out("list", "commit", "images", "--project", "p1").splitlines()
    assert commits[0].split()[:3] == ["PROJECT", "REPO", "BRANCH"]
    assert commits[1].split()[:3] == ["p1", "images", "master"] and len(commits) == 2
    [c] = cli.raw("list", "commit", "p1/images")
    assert c["commit"]["repo"]["project"] == {"name": "p1"} and c["commit"]["repo"]["name"] == "images"
    assert cli.raw("inspect", "commit", "images@master", "--project", "p1")["commit"]["id"] == c["commit"]["id"]
    [f] = cli.raw("list", "file", "images@master", "--project", "p1")
    assert f["file"]["path"] == "/a" and f["file"]["commit"]["repo"] == c["commit"]["repo"]

    cli("create", "branch", "images@dev", "--head", "master", "--project", "p1")
    branches = cli.raw("list", "branch", "images", "--project", "p1")
    assert [b["branch"]["name"] for b in branches] == ["dev", "master"]
    assert {b["branch"]["repo"]["project"]["name"] for b in branches} == {"p1"}
    [b] = cli.raw("list", "branch", "images")
    assert (b["branch"]["repo"]["project"]["name"], b["branch"]["name"]) == ("default", "master")
    cli("start", "commit", "images@dev", "--project", "p1")
    cli("put", "file", "images@dev:/b", "-f", "-", "--project", "p1", input="b")
    cli("finish", "commit", "images@dev", "--project", "p1")
    cli("delete", "file", "images@dev:/a", "--project", "p1")
    [f] = cli.raw("list", "file", "p1/images@dev")
    assert f["file"]["path"] == "/b" and f["file"]["commit"]["repo"]["project"] == {"name": "p1"}
    [f] = cli.raw("glob", "file", "p1/images@dev:/*")
    assert f["file"]["path"] == "/b" and f["file"]["commit"]["repo"]["project"] == {"name": "p1"}
    # (pachctl's diff file has no --raw: its --name-only table, '-' for the old version of a path)
    diff = cli.out("diff", "file", "images@dev", "--project", "p1", "--name-only").splitlines()
    assert [row.split()[:2] for row in diff[1:]] == [["-", "/a"]]

    cli("delete", "repo", "images", "--project", "p1")  # only p1's
    assert [(r["repo"]["project"]["name"], r["repo"]["name"]) for r in cli.raw("list", "repo", "-A")] == [
        ("default", "images")]
    assert cli.out("get", "file", "images@master:/a") == "default"


def test_a_pipeline_in_a_project_reads_and_writes_there_and_across(cli):
    cli("create", "project", "p1")
    for project in ("default", "p1"):
        cli("create", "repo", "images", "--project", project)
        cli("put", "file", "images@master:/x", "-f", "-", "--project", project, input=project)

    cli("create", "pipeline", "-f", cli.spec(edges_spec("p1")))
    # Its input defaults to its own project's `images`; its output repo is in that project.
    assert cli.out("get", "file", "edges@master:/x", "--project", "p1") == "p1"
    assert cli.out("get", "file", "p1/edges@master:/who") == "p1 edges\n"  # PPS_PROJECT_NAME
    assert [(r["repo"]["project"]["name"], r["repo"]["name"]) for r in cli.raw("list", "repo")] == [
        ("default", "images")]  # nothing else in default
    pipelines = cli.out("list", "pipeline", "--project", "p1").splitlines()
    assert pipelines[0].split()[:3] == ["PROJECT", "NAME", "VERSION"]
    assert pipelines[1].split()[:4] == ["p1", "edges", "1", "p1/images:/"]
    assert cli.out("list", "pipeline").splitlines()[1:] == []
    assert cli.out("inspect", "pipeline", "edges", "--project", "p1").startswith("Name: edges\n")

    jobs = cli.out("list", "job", "--project", "p1").splitlines()
    assert jobs[0].split()[:3] == ["PROJECT", "PIPELINE", "ID"] and jobs[1].split()[:2] == ["p1", "edges"]
    assert cli.out("list", "job").splitlines()[1:] == []  # the default project has none
    assert len(cli.raw("list", "job", "-A")) == 1
    [job] = [j["job"] for j in cli.raw("list", "job", "-p", "edges", "--project", "p1")]
    assert job["pipeline"] == {"project": {"name": "p1"}, "name": "edges"}
    info = cli.raw("inspect", "job", f"edges@{job['id']}", "--project", "p1")
    assert info["state"] == "JOB_SUCCESS" and info["job"] == job
    assert info["output_commit"]["repo"]["project"] == {"name": "p1"}
    assert info["output_commit"]["repo"]["name"] == "edges"
    # pachctl's inspect job: the pipeline's name, then its project
    assert cli.out("inspect", "job", f"p1/edges@{job['id']}").splitlines()[1:3] == ["Pipeline: edges",
                                                                                   "Project: p1"]
    [datum] = cli.raw("list", "datum", f"p1/edges@{job['id']}")
    assert datum["datum"]["job"] == job
    assert [d["file"]["commit"]["repo"]["project"]["name"] for d in datum["data"]] == ["p1"]
    did = datum["datum"]["id"]
    assert cli.raw("inspect", "datum", f"edges@{job['id']}", did, "--project", "p1")["datum"]["id"] == did
    cli("logs", "-p", "edges", "--project", "p1")

    # A cross-project input: the default project's `images`, named with input.pfs.project.
    other = edges_spec(None, project="default")
    other["pipeline"]["name"] = "mirror"
    cli("create", "pipeline", "-f", cli.spec(other), "--project", "p1")  # --project fills it in
    assert cli.out("get", "file", "mirror@master:/x", "--project", "p1") == "default"
    assert cli.out("get", "file", "p1/mirror@master:/who") == "p1 mirror\n"
    [c] = cli.raw("list", "commit", "p1/mirror")
    assert c["commit"]["repo"]["project"] == {"name": "p1"} and c["commit"]["repo"]["name"] == "mirror"
    # the default project's repo, named with its project (on the commit and its branch)
    assert [(p["repo"]["project"]["name"], p["repo"]["name"], p["branch"]["repo"]["project"]["name"])
            for p in c["direct_provenance"]] == [("default", "images", "default")]
    [c] = cli.raw("list", "commit", "p1/edges")  # and p1's own images, in p1
    assert [(p["repo"]["project"]["name"], p["repo"]["name"], p["branch"]["repo"]["project"]["name"])
            for p in c["direct_provenance"]] == [("p1", "images", "p1")]

    # A new commit in the default project's `images` runs mirror, not edges.
    cli("put", "file", "images@master:/y", "-f", "-", input="new")
    out = cli.out("run", "--project", "p1").splitlines()  # the project's pipelines
    assert out[0].startswith("p1/edges: up to date")
    assert out[1].startswith("p1/mirror: job ") and out[1].endswith("success: 1 + 0 / 1")
    cli("delete", "pipeline", "mirror", "--project", "p1")
    assert [(p["pipeline"]["project"]["name"], p["pipeline"]["name"])
            for p in cli.raw("list", "pipeline", "-A")] == [("p1", "edges")]
    assert fsck(Store(cli.store)) == []


def test_delete_project_is_refused_while_it_has_repos_unless_forced(cli):
    cli("create", "project", "p1")
    cli("create", "repo", "images", "--project", "p1")
    cli("put", "file", "images@master:/x", "-f", "-", "--project", "p1", input="x")
    cli("create", "pipeline", "-f", cli.spec(edges_spec("p1")))
    err = cli("delete", "project", "p1", ok=False).stderr
    assert "cannot delete project p1: repo p1/edges, p1/images still exist; " in err
    assert len(cli.raw("list", "repo", "--project", "p1")) == 2  # nothing changed

    cli("delete", "project", "p1", "--force")
    assert [p["project"]["name"] for p in cli.raw("list", "project")] == ["default"]
    assert cli.raw("list", "repo", "-A") == [] and cli.raw("list", "pipeline", "-A") == []
    assert fsck(Store(cli.store)) == []


# ---- bad input: exit 1, one line naming problem and fix, nothing stored changes ---------------

BAD = [
    (["create", "repo", "x", "--project", "nope"], "project nope not found"),
    (["list", "repo", "--project", "nope"], "project nope not found"),
    (["list", "file", "nope/images@master"], "project nope not found"),
    (["put", "file", "images@master:/y", "-f", "-", "--project", "nope"], "project nope not found"),
    (["list", "pipeline", "--project", "nope"], "project nope not found"),
    (["list", "job", "--project", "nope"], "project nope not found"),
    (["delete", "project", "nope"], "project nope not found"),
    (["create", "pipeline", "-f", "in_nope.json"], "pipeline edges is in project nope, which does not exist"),
    (["list", "file", "images@master", "--project", "p2"], "repo images not found in project p2"),
    (["inspect", "pipeline", "edges"], "pipeline edges not found in project default"),
    (["create", "project", "bad name"], "invalid project name 'bad name'"),
    (["create", "project", "_x"], "invalid project name '_x': it must start with a letter or digit"),
    (["create", "project", "p" * 52], "52 characters, pachd allows 51"),
    (["create", "project", "p1"], "project p1 already exists"),
    (["list", "repo", "--project", "a/b"], "invalid project name 'a/b'"),
    (["create", "pipeline", "-f", "bad_project.json"], "pipeline.project.name: invalid project name '-x'"),
    (["list", "file", "bad name/images@master"], "invalid project name 'bad name'"),
    (["list", "file", "a/b/images@master"], "invalid project name 'a/b'"),
    (["list", "file", "/images@master"], "invalid project name ''"),
    (["list", "file", "p1/@master"], "invalid repo name ''"),
    (["get", "file", "p1/images@master:/x", "--project", "p2"], "names project p1 but --project is p2"),
    (["list", "commit", "p1/bad.repo"], "invalid repo name 'bad.repo'"),
]


@pytest.mark.parametrize("args, problem", BAD, ids=[" ".join(a)[:60] for a, _ in BAD])
def test_bad_project_input_fails_with_one_line_and_changes_nothing(cli, args, problem):
    cli("create", "project", "p1")
    cli("create", "project", "p2")
    cli("create", "repo", "images", "--project", "p1")
    cli("put", "file", "images@master:/x", "-f", "-", "--project", "p1", input="x")
    cli.spec(edges_spec("nope"), "in_nope.json")
    cli.spec(edges_spec("-x"), "bad_project.json")
    before = [cli.out("list", noun, "-A", "--raw") for noun in ("repo", "pipeline", "job")]
    before.append(cli.out("list", "project", "--raw"))

    r = cli(*args, ok=False)

    assert problem in r.stderr and "; " in r.stderr.split(problem, 1)[1], r.stderr
    after = [cli.out("list", noun, "-A", "--raw") for noun in ("repo", "pipeline", "job")]
    assert after + [cli.out("list", "project", "--raw")] == before


# ---- the generator ----------------------------------------------------------------------------

def test_generated_specs_and_deploy_script_name_the_workflows_project(tmp_path, cli):
    config = tmp_path / "config.yaml"
    config.write_text(pristine("config/config.yaml").read_text() + "project: diabetes\n")
    files = gen.generate(ROOT / "pipelines.py", config, root=ROOT)
    for name, text in files.items():
        if name.endswith(".json"):
            spec = json.loads(text)
            assert spec["pipeline"]["project"] == {"name": "diabetes"}, name
            assert {i["pfs"].get("project") for i in spec["input"].get("cross", [spec["input"]])} \
                == {"diabetes"}, name
    deploy = files["pachyderm/deploy.sh"].splitlines()
    pachctl = [line.split("run ", 1)[1] for line in deploy if "run pachctl" in line]
    assert pachctl[0] == "pachctl create project diabetes"
    assert all("--project diabetes" in line for line in pachctl[1:]) and len(pachctl) > 5

    # A generated spec is accepted as it stands, in its project.
    cli("create", "project", "diabetes")
    cli("create", "repo", "training", "--project", "diabetes")
    cli("put", "file", "training@master:/diabetes.csv", "-f", str(pristine("data/diabetes.csv")),
        "--project", "diabetes")
    cli.file("split.json", files["pachyderm/split.json"])
    cli("create", "pipeline", "-f", "split.json", ok=None)  # (its script path is the workflow's)
    assert [(p["pipeline"]["project"]["name"], p["pipeline"]["name"])
            for p in cli.raw("list", "pipeline", "--project", "diabetes")] == [("diabetes", "split")]


def test_a_bad_project_in_the_config_is_one_line(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(pristine("config/config.yaml").read_text() + "project: -bad\n")
    shutil.copy(ROOT / "config/config.schema.yaml", tmp_path / "config.schema.yaml")
    with pytest.raises(Exception, match="project: '-bad' does not match"):
        gen.generate(ROOT / "pipelines.py", config)
