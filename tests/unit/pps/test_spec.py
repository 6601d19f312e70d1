"""Pipeline specs: read as pachd reads them, checked as pachd checks them, emitted for a cluster."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from helpers import DATA
from pachlite.errors import SpecError
from pachlite.pps import spec

REFERENCE = DATA / "pachyderm"
EXAMPLES = sorted((REFERENCE / "examples-2x").glob("*.json"))
WORKSHOP = sorted((REFERENCE / "gc2018-workshop").glob("*.json"))


def parse_as_pachd(text: str) -> None:
    """Parse `text` into pachd's CreatePipelineRequest with protobuf's JSON rules, unknown fields
    rejected, as pachd does on `create pipeline`."""
    pps_pb2 = pytest.importorskip(
        "python_pachyderm.proto.v2.pps.pps_pb2", reason="python-pachyderm (test extra) is not installed"
    )
    from google.protobuf import json_format

    json_format.Parse(text, pps_pb2.CreatePipelineRequest(), ignore_unknown_fields=False)


def reference_schema_validate(document: dict) -> None:
    schema = json.loads((REFERENCE / "CreatePipelineRequest.schema.json").read_text())
    jsonschema.Draft4Validator(schema).validate(document)


def minimal(**extra) -> dict:
    base = {
        "pipeline": {"name": "edges"},
        "input": {"pfs": {"repo": "images", "glob": "/*"}},
        "transform": {"image": "pachyderm/opencv:1.0", "cmd": ["python3", "/edges.py"]},
    }
    base.update(extra)
    return base


def pfs(repo: str, glob: str = "/", **fields) -> dict:
    return {"pfs": {"repo": repo, "glob": glob, **fields}}


def rejected(raw: dict) -> SpecError:
    with pytest.raises(SpecError) as caught:
        spec.normalize(raw, "p.json")
    return caught.value


# --- Pachyderm's own examples -------------------------------------------------------------------


def test_packaged_schema_is_pachyderms():
    packaged = Path(spec.__file__).parents[1] / "schemas" / "CreatePipelineRequest.schema.json"
    assert packaged.read_bytes() == (REFERENCE / "CreatePipelineRequest.schema.json").read_bytes()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_2x_example_normalises_unchanged_and_emits_what_pachd_accepts(path):
    raw = spec.load_specs(path)[0]
    normalised = spec.normalize(raw, str(path))
    assert normalised == raw  # already canonical: nothing to rename, convert or clean
    text = spec.emit(normalised)
    reference_schema_validate(json.loads(text))
    parse_as_pachd(text)


def test_emit_puts_pipeline_description_input_transform_first():
    raw = spec.load_specs(REFERENCE / "examples-2x" / "shuffle.pipeline.json")[0]
    assert list(raw)[0] == "input"
    text = spec.emit(spec.normalize(raw))
    assert list(json.loads(text)) == ["pipeline", "description", "input", "transform"]
    assert text.endswith("}\n") and '\n  "pipeline": {\n    "name": "shuffle"' in text


def test_emit_orders_nested_keys_by_schema_and_later_keys_after_transform():
    raw = minimal(datumTries=2, parallelismSpec={"constant": 2})
    raw["input"]["pfs"] = {"glob": "/*", "repo": "images", "branch": "master"}
    emitted = json.loads(spec.emit(spec.normalize(raw)))
    assert list(emitted) == ["pipeline", "input", "transform", "parallelismSpec", "datumTries"]
    assert list(emitted["input"]["pfs"]) == ["repo", "branch", "glob"]


# --- spellings pachd accepts --------------------------------------------------------------------


def test_snake_case_and_quoted_integers_normalise_like_camel_case():
    camel = json.loads((REFERENCE / "examples-2x" / "outer_join.pipeline.json").read_text())
    camel.update(parallelismSpec={"constant": 4}, datumTries=2, resourceRequests={"cpu": 0.5})
    snake = copy.deepcopy(camel)
    for child in snake["input"]["join"]:
        pfs = child["pfs"]
        pfs["join_on"], pfs["outer_join"] = pfs.pop("joinOn"), pfs.pop("outerJoin")
    del snake["parallelismSpec"], snake["datumTries"], snake["resourceRequests"]
    snake.update(parallelism_spec={"constant": "4"}, datum_tries="2", resource_requests={"cpu": "0.5"})

    assert spec.normalize(snake) == spec.normalize(camel)
    assert spec.normalize(snake)["parallelismSpec"]["constant"] == 4
    parse_as_pachd(spec.emit(spec.normalize(snake)))


def test_normalize_returns_a_new_dict_and_leaves_the_input_alone():
    raw = minimal(parallelism_spec={"constant": "3"})
    before = copy.deepcopy(raw)
    out = spec.normalize(raw)
    out["transform"]["cmd"].append("changed")
    assert raw == before


def test_map_keys_are_kept_as_written():
    raw = minimal()
    raw["transform"]["env"] = {"MODEL_DIR": "/pfs/model", "log_level": "debug"}
    assert spec.normalize(raw)["transform"]["env"] == {"MODEL_DIR": "/pfs/model", "log_level": "debug"}


@pytest.mark.parametrize(("glob", "cleaned"),
                         [("*", "/*"), ("/a/", "/a"), ("a/./b/*", "/a/b/*"), ("//x", "/x"), ("../x", "/x"),
                          ("/a/../../*", "/*")])
def test_glob_is_cleaned_as_pachd_does(glob, cleaned):
    raw = minimal()
    raw["input"]["pfs"]["glob"] = glob
    assert spec.normalize(raw)["input"]["pfs"]["glob"] == cleaned


def test_a_field_given_in_both_spellings_is_rejected():
    err = rejected(minimal(datum_tries=2, datumTries=3))
    assert "datumTries" in err.problem and "one spelling" in err.fix


# --- Pachyderm 1.x (the 2018 workshop) ----------------------------------------------------------


@pytest.mark.parametrize("path", WORKSHOP, ids=lambda p: p.name)
def test_workshop_1x_specs_are_rejected_naming_atom_and_the_fix(path):
    with pytest.raises(SpecError) as caught:
        spec.normalize(spec.load_specs(path)[0], str(path))
    err = caught.value
    assert ".atom" in err.where and str(path) in err.where
    assert "`pfs`" in err.problem and "rename `atom` to `pfs`" in err.fix and "upgrade" in err.fix


@pytest.mark.parametrize("path", WORKSHOP, ids=lambda p: p.name)
def test_upgrade_1x_gives_a_spec_pachd_accepts_and_says_what_changed(path):
    raw = spec.load_specs(path)[0]
    upgraded, changes = spec.upgrade_1x(raw)
    text = spec.emit(upgraded)
    reference_schema_validate(json.loads(text))
    parse_as_pachd(text)
    assert spec.normalize(json.loads(text)) == upgraded
    said = "\n".join(changes)
    assert "`atom` → `pfs`" in said
    assert f'"{raw["parallelism_spec"]["constant"]}" → {int(raw["parallelism_spec"]["constant"])}' in said
    assert "`parallelism_spec` → `parallelismSpec`" in said


def test_upgraded_infer_keeps_its_cross_of_two_repos_and_ten_workers():
    upgraded, _ = spec.upgrade_1x(spec.load_specs(REFERENCE / "gc2018-workshop" / "infer.json")[0])
    assert upgraded["parallelismSpec"] == {"constant": 10}
    assert upgraded["input"] == {
        "cross": [{"pfs": {"repo": "attributes", "glob": "/*"}}, {"pfs": {"repo": "qcontrol", "glob": "/"}}]
    }


def test_upgrade_1x_renames_and_drops_other_1x_fields():
    raw = minimal(standby=True, enable_stats=True, chunk_spec={"number": "5"},
                  parallelism_spec={"coefficient": 0.5})
    upgraded, changes = spec.upgrade_1x(raw)
    assert upgraded["autoscaling"] is True and upgraded["datumSetSpec"] == {"number": 5}
    assert "enableStats" not in upgraded and upgraded["parallelismSpec"] == {}
    said = "\n".join(changes)
    assert "dropped `enable_stats`" in said and "dropped `coefficient`" in said
    parse_as_pachd(spec.emit(upgraded))


def test_a_git_input_cannot_be_upgraded():
    raw = minimal(input={"git": {"URL": "https://github.com/x/y.git"}})
    with pytest.raises(SpecError) as caught:
        spec.upgrade_1x(raw)
    assert caught.value.where == "<spec>: input.git" and "pfs input" in caught.value.fix


def test_1x_fields_are_rejected_by_normalize_naming_the_2x_field():
    err = rejected(minimal(standby=True))
    assert err.where == "p.json: standby" and "rename `standby` to `autoscaling`" in err.fix


# --- validation rules: each names the field and the fix -----------------------------------------


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "has no name"),
        ("my pipeline", "only letters, digits"),
        ("edges@v2", "only letters, digits"),
        ("-edges", "must start with a letter or digit"),
        ("_edges", "must start with a letter or digit"),
        ("e" * 52, "52 characters long; pachd allows 51"),
    ],
)
def test_bad_pipeline_names_are_rejected(name, problem):
    err = rejected(minimal(pipeline={"name": name}))
    assert err.where == "p.json: pipeline.name" and problem in err.problem
    assert err.fix


def test_longest_names_pachd_allows_pass():
    spec.normalize(minimal(pipeline={"name": "e" * 51}))
    spec.normalize(minimal(pipeline={"name": "9-lives_x"}))


def test_a_project_counts_towards_the_kubernetes_name_limit():
    spec.normalize(minimal(pipeline={"name": "e" * 50, "project": {"name": "research"}}))
    err = rejected(minimal(pipeline={"name": "e" * 51, "project": {"name": "research"}}))
    # "research-<name>-v99" must fit 63 characters
    assert "51 characters long; pachd allows 50" in err.problem


def test_an_input_with_two_types_is_rejected():
    raw = minimal(input={"cross": [{**pfs("a"), "union": [pfs("b")]}]})
    err = rejected(raw)
    assert err.where == "p.json: input.cross[0]"
    assert "`pfs` and `union`" in err.problem and "keep one" in err.fix


def test_an_input_with_no_type_is_rejected():
    err = rejected(minimal(input={"union": [{"pfs": {"repo": "a", "glob": "/"}}, {}]}))
    assert err.where == "p.json: input.union[1]" and "no type" in err.problem and "pfs, cross" in err.fix


def test_an_empty_cross_is_rejected():
    err = rejected(minimal(input={"cross": []}))
    assert err.where == "p.json: input.cross" and "no inputs" in err.problem


def test_pfs_needs_a_repo():
    err = rejected(minimal(input={"cross": [{"pfs": {"repo": "a", "glob": "/"}}, {"pfs": {"glob": "/"}}]}))
    assert err.where == "p.json: input.cross[1].pfs.repo"
    assert "no `repo`" in err.problem and '"repo":' in err.fix


def test_pfs_needs_a_glob():
    err = rejected(minimal(input={"cross": [{"pfs": {"repo": "a", "glob": "/"}}, {"pfs": {"repo": "b"}}]}))
    assert err.where == "p.json: input.cross[1].pfs.glob" and "no `glob`" in err.problem and '"/*"' in err.fix


def test_input_names_must_be_unique_within_a_cross():
    raw = minimal(input={"cross": [{"pfs": {"repo": "a", "glob": "/"}},
                                   {"pfs": {"repo": "a", "glob": "/*"}}]})
    err = rejected(raw)
    assert err.where == "p.json: input.cross[1]"
    assert "'a' is used more than once" in err.problem and "`name`" in err.fix
    raw["input"]["cross"][1]["pfs"]["name"] = "a_files"
    spec.normalize(raw)


def test_input_names_must_be_unique_within_join_and_group():
    for kind, key in (("join", "joinOn"), ("group", "groupBy")):
        pfs = {"repo": "a", "glob": "/(*)", key: "$1"}
        err = rejected(minimal(input={kind: [{"pfs": pfs}, {"pfs": dict(pfs)}]}))
        assert err.where == f"p.json: input.{kind}[1]" and "more than once" in err.problem


def test_union_children_may_share_a_name_but_not_with_what_the_union_is_crossed_with():
    union = {"union": [{"pfs": {"repo": "a", "glob": "/x/*"}}, {"pfs": {"repo": "a", "glob": "/y/*"}}]}
    spec.normalize(minimal(input=union))
    err = rejected(minimal(input={"cross": [union, {"pfs": {"repo": "a", "glob": "/"}}]}))
    assert err.where == "p.json: input.cross[1]" and "'a'" in err.problem


def test_transform_needs_a_cmd():
    for transform in ({"image": "ubuntu:20.04"}, {"image": "ubuntu:20.04", "cmd": []}):
        err = rejected(minimal(transform=transform))
        assert err.where == "p.json: transform.cmd" and "no `cmd`" in err.problem and '"cmd": [' in err.fix
    err = rejected({"pipeline": {"name": "edges"}, "input": {"pfs": {"repo": "images", "glob": "/"}}})
    assert err.where == "p.json: transform" and '"transform":' in err.fix


def test_join_on_outside_a_join_is_rejected():
    raw = minimal(input={"cross": [pfs("a", "/(*)", join_on="$1"), pfs("b")]})
    err = rejected(raw)
    assert err.where == "p.json: input.cross[0].pfs.joinOn" and "inside a `join`" in err.problem
    assert "put this input in a `join`, or remove `joinOn`" in err.fix


def test_group_by_outside_a_group_is_rejected():
    err = rejected(minimal(input={"join": [pfs("a", "/(*)", joinOn="$1", groupBy="$1")]}))
    assert err.where == "p.json: input.join[0].pfs.groupBy" and "`group`" in err.problem
    assert "remove `groupBy`" in err.fix


def test_a_pipeline_reading_its_own_output_repo_is_rejected():
    err = rejected(minimal(input={"union": [pfs("images"), pfs("edges")]}))
    assert err.where == "p.json: input.union[1].pfs.repo" and "its own output repo 'edges'" in err.problem
    assert "another repo" in err.fix


def test_an_input_named_out_is_rejected():
    err = rejected(minimal(input={"pfs": {"repo": "out", "glob": "/"}}))
    assert err.where == "p.json: input.pfs.name" and "/pfs/out" in err.fix


def test_unknown_fields_are_rejected_suggesting_the_closest_known_one():
    raw = minimal()
    raw["input"]["pfs"]["globb"] = raw["input"]["pfs"].pop("glob")
    err = rejected(raw)
    assert err.where == "p.json: input.pfs.globb"
    assert "unknown field `globb`" in err.problem and "`glob`" in err.fix
    err = rejected(minimal(paralelism_spec={"constant": 2}))
    assert err.where == "p.json: paralelism_spec" and "`parallelismSpec`" in err.fix


def test_a_value_of_the_wrong_type_names_the_field_and_the_type():
    err = rejected(minimal(transform={"image": "x", "cmd": "python3 /edges.py"}))
    assert err.where == "p.json: transform.cmd" and "must be a list" in err.problem
    err = rejected(minimal(parallelism_spec={"constant": "four"}))
    assert err.where == "p.json: parallelismSpec.constant" and "must be an integer" in err.problem
    err = rejected(minimal(input=[{"pfs": {"repo": "a", "glob": "/"}}]))
    assert err.where == "p.json: input" and "must be an object" in err.problem
    err = rejected(minimal(datum_timeout="10m"))
    assert err.where == "p.json: datumTimeout" and '"600s"' in err.fix


def test_reprocess_spec_must_be_one_pachd_knows():
    err = rejected(minimal(reprocessSpec="always"))
    assert err.where == "p.json: reprocessSpec" and "every_job" in err.fix


def test_validate_schema_names_the_path_of_the_first_problem():
    with pytest.raises(SpecError) as caught:
        spec.validate_schema(minimal(parallelism_spec={"constant": 1}), "s.json")
    assert caught.value.where == "s.json" and "parallelism_spec" in caught.value.problem
    with pytest.raises(SpecError) as caught:
        spec.validate_schema(minimal(parallelismSpec={"constant": "1"}), "s.json")
    assert caught.value.where == "s.json: parallelismSpec.constant"


# --- defaults, hashing, reading inputs ----------------------------------------------------------


def test_with_defaults_fills_in_what_pachd_would_and_emit_stays_minimal():
    normalised = spec.normalize(minimal())
    full = spec.with_defaults(normalised)
    assert full["input"]["pfs"] == {"repo": "images", "glob": "/*", "branch": "master", "name": "images"}
    assert full["parallelismSpec"] == {"constant": 1}
    assert (full["datumTries"], full["outputBranch"], full["reprocessSpec"]) == (3, "master", "until_success")
    assert "datumTries" not in normalised and "branch" not in normalised["input"]["pfs"]
    assert "datumTries" not in spec.emit(normalised)
    spec.validate_schema(full)


def test_with_defaults_keeps_what_the_spec_says():
    raw = minimal(parallelismSpec={"constant": 4}, datumTries=1)
    raw["input"]["pfs"].update(branch="dev", name="imgs")
    full = spec.with_defaults(spec.normalize(raw))
    assert full["parallelismSpec"]["constant"] == 4 and full["datumTries"] == 1
    assert full["input"]["pfs"]["branch"] == "dev" and full["input"]["pfs"]["name"] == "imgs"
    zero = spec.with_defaults(spec.normalize(minimal(parallelismSpec={"constant": 0})))
    assert zero["parallelismSpec"]["constant"] == 1


def test_the_running_spec_is_typed_with_every_default_applied_once():
    raw = minimal(datumTimeout="90s", parallelismSpec={"constant": 2})
    raw["transform"]["datumBatching"] = True
    del raw["transform"]["image"]
    running = spec.PipelineSpec.of(spec.normalize(raw))
    assert (running.name, running.parallelism, running.datum_tries, running.datum_timeout) == (
        "edges", 2, 3, 90.0)
    assert (running.output_branch, running.every_job, running.datum_batching) == ("master", False, True)
    assert running.pfs_inputs == [{"repo": "images", "glob": "/*", "branch": "master", "name": "images"}]
    assert running.transform["image"] == spec.DEFAULT_IMAGE
    assert "branch" not in running.spec["input"]["pfs"]  # the spec as given stays minimal
    assert spec.PipelineSpec.of(spec.normalize(minimal(reprocessSpec="every_job"))).every_job


def test_pfs_inputs_and_input_repos_walk_the_whole_tree_in_order():
    raw = spec.load_specs(REFERENCE / "examples-2x" / "cross-montage.pipeline.json")[0]
    normalised = spec.normalize(raw)
    assert [p["repo"] for p in spec.pfs_inputs(normalised["input"])] == [
        "images", "edgesA", "images", "edgesB"]
    assert spec.input_repos(normalised) == ["images", "edgesA", "edgesB"]
    assert spec.pfs_inputs(None) == []


# --- bad values (issue #13): one message naming the field, never a traceback -------------------


def cross(*children) -> dict:
    return {"cross": list(children)}


@pytest.mark.parametrize(("change", "path", "problem"), [
    ({"input": None}, "input", "has no input"),
    ({"input": pfs("images", 5)}, "input.pfs.glob", "must be a string"),
    ({"input": {"cross": 5}}, "input.cross", "must be a list"),
    ({"input": {"union": "a"}}, "input.union", "must be a list"),
    ({"input": {"join": {"pfs": {}}}}, "input.join", "must be a list"),
    ({"input": {"group": None}}, "input", "has no type"),
    ({"input": cross(pfs("a"), 7)}, "input.cross[1]", "must be an object"),
    ({"datumTries": -1}, "datumTries", "datumTries is -1"),
    ({"datumTries": 2**63}, "datumTries", "more than protobuf's"),
    ({"outputBranch": "../x"}, "outputBranch", "output branch '../x'"),
    ({"parallelismSpec": {"constant": -1}}, "parallelismSpec.constant", "must be 0 or more"),
    ({"parallelismSpec": {"constant": "-1"}}, "parallelismSpec.constant", "must be 0 or more"),
    ({"datumTimeout": "99999999999999999999s"}, "datumTimeout", "longer than a protobuf Duration"),
    ({"input": pfs("images", name="../up")}, "input.pfs.name", "input name '../up'"),
    ({"input": pfs("images", branch="a/b")}, "input.pfs.branch", "branch 'a/b'"),
    ({"transform": {"cmd": ["python3", None]}}, "transform.cmd[1]", "holds null"),
    ({"spout": {}, "input": None}, "spout", "does not run spout"),
    ({"tfJob": {}}, "tfJob", "TFJob"),
])
def test_bad_values_are_refused_naming_the_field(change, path, problem):
    err = rejected(minimal(**change))
    assert err.where == f"p.json: {path}" and problem in err.problem, err
    assert err.fix and "\n" not in str(err)


def test_what_pachd_reads_as_unset_or_allows_is_accepted():
    running = spec.PipelineSpec.of(spec.normalize(minimal(datumTries=0, outputBranch=None,
                                                          parallelismSpec=None)))
    assert (running.datum_tries, running.output_branch, running.parallelism) == (3, "master", 1)
    # pachd takes any int64 of tries; pachlite runs at most MAX_LOCAL_WORKERS datums at once.
    huge = spec.PipelineSpec.of(spec.normalize(minimal(datumTries=10**12,
                                                       parallelismSpec={"constant": 10**12})))
    assert (huge.datum_tries, huge.parallelism) == (10**12, spec.defaults.MAX_LOCAL_WORKERS)


def test_a_stored_spec_that_todays_checks_refuse_fails_only_its_own_pipeline(pfs):
    """A spec stored by an older pachlite (here: written into the store directly) is checked
    again when it runs: its pipeline is unrunnable with one line, the others run, listing works."""
    from helpers import put
    from pachlite.pps import pipeline as pl
    from pachlite.store import pipelines

    pfs.create_repo("images")
    put(pfs, "images", {"/a.txt": "a"})
    copy_cmd = ["sh", "-c", "cp /pfs/images/* /pfs/out/"]
    for name in ("bad", "good"):
        pl.create_pipeline(pfs, minimal(pipeline={"name": name}, transform={"cmd": copy_cmd}))
    for stored in ({"input": {"cross": 5}}, {"input": None}, {"datumTries": -1}, {"outputBranch": "../x"}):
        bad = {**minimal(pipeline={"name": "bad"}, transform={"cmd": copy_cmd}), **stored}
        with pfs.store.transaction() as tx:
            pipelines.update(tx, "bad", bad, "salt", 0.0)
        assert sorted(p.name for p in pl.list_pipeline(pfs)) == ["bad", "good"]
        results = {r.pipeline: r for r in pl.run(pfs)}
        assert results["bad"].action == "unrunnable" and results["bad"].job is None
        assert results["bad"].detail.startswith("the stored spec of pipeline bad: ")
        assert "update pipeline" in results["bad"].detail and "\n" not in results["bad"].detail
        assert results["good"].action in ("ran", "up to date")
        assert results["good"].job.state == "success"


# --- loading files ------------------------------------------------------------------------------


def test_load_yaml_multi_document(tmp_path):
    path = tmp_path / "pipelines.yaml"
    path.write_text(
        "pipeline:\n  name: edges\ninput:\n  pfs: {repo: images, glob: /*}\n"
        "transform:\n  cmd: [python3, /edges.py]\n---\n"
        "pipeline: {name: montage}\nparallelism_spec: {constant: '2'}\n"
        "input:\n  cross:\n    - pfs: {repo: images, glob: /}\n    - pfs: {repo: edges, glob: /}\n"
        "transform: {cmd: [sh]}\n---\n"
    )
    raws = spec.load_specs(path)
    assert [r["pipeline"]["name"] for r in raws] == ["edges", "montage"]
    assert spec.normalize(raws[1])["parallelismSpec"] == {"constant": 2}


def test_load_json_list_and_json_stream(tmp_path):
    one = minimal()
    two = minimal(pipeline={"name": "montage"})
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([one, two]))
    streamed = tmp_path / "stream.json"
    streamed.write_text(json.dumps(one, indent=2) + "\n" + json.dumps(two, indent=2))
    assert spec.load_specs(listed) == [one, two] == spec.load_specs(streamed)


def test_a_malformed_json_file_names_the_file_and_line(tmp_path):
    path = tmp_path / "edges.json"
    path.write_text('{\n  "pipeline": {"name": "edges"},\n  "transform": {"cmd": ["a",]}\n}\n')
    with pytest.raises(SpecError) as caught:
        spec.load_specs(path)
    assert caught.value.where == f"{path}:3" and "line 3" in caught.value.problem


def test_a_malformed_yaml_file_names_the_file_and_line(tmp_path):
    path = tmp_path / "edges.yaml"
    path.write_text("pipeline:\n  name: edges\ntransform: [a\n")
    with pytest.raises(SpecError) as caught:
        spec.load_specs(path)
    assert caught.value.where.startswith(f"{path}:") and "YAML" in caught.value.problem


def test_missing_empty_and_non_object_files_are_spec_errors(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        spec.load_specs(tmp_path / "absent.json")
    (tmp_path / "empty.yaml").write_text("")
    with pytest.raises(SpecError, match="no pipeline spec"):
        spec.load_specs(tmp_path / "empty.yaml")
    (tmp_path / "list.json").write_text('["edges"]')
    with pytest.raises(SpecError, match="expected a pipeline spec"):
        spec.load_specs(tmp_path / "list.json")


# --- every field of the 2.x spec: honoured, warned or refused (pps/spec/fields.py) ------------


def _schema_fields() -> set[str]:
    defs = json.loads((REFERENCE / "CreatePipelineRequest.schema.json").read_text())["definitions"]
    return ({*defs["CreatePipelineRequest"]["properties"]}
            | {f"transform.{k}" for k in defs["pps_v2.Transform"]["properties"]}
            | {f"input.pfs.{k}" for k in defs["pps_v2.PFSInput"]["properties"]} | {"input.cron"})


def test_every_field_of_the_schema_has_one_decision():
    from pachlite.pps.spec.fields import FIELDS, HONOURED, REFUSED, WARNED
    assert set(FIELDS) == _schema_fields()
    assert {decision for decision, _, _ in FIELDS.values()} == {HONOURED, WARNED, REFUSED}
    assert all(why for decision, why, _ in FIELDS.values() if decision != HONOURED)
    assert all(fix for decision, _, fix in FIELDS.values() if decision == REFUSED)


def test_the_readme_table_is_the_code_table():
    from pachlite.pps.spec.fields import README_BEGIN, README_END, markdown_table
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    start = readme.index(README_BEGIN) + len(README_BEGIN) + 1
    assert readme[start:readme.index(README_END)] == markdown_table()


@pytest.mark.parametrize("path,value", [
    ("egress", {"URL": "s3://b/d"}), ("s3Out", True), ("service", {"internalPort": 80}),
    ("spout", {}), ("determined", {"workspaces": ["w"]}), ("tfJob", {"tfJob": "{}"}),
    ("input.pfs.s3", True), ("input.pfs.repoType", "meta"),
    ("input.pfs.propagationSpec", {"never": True}), ("input.pfs.reference", True),
])
def test_a_refused_field_is_named_with_why_and_fix(path, value):
    raw = minimal()
    head, _, field = path.rpartition(".")
    node = raw["input"]["pfs"] if head == "input.pfs" else raw["transform"] if head == "transform" else raw
    node[field] = value
    if field == "s3":
        node["glob"] = "/"  # pachd's rule for s3 inputs, else its error comes first
    e = rejected(raw)
    assert f"`{path}` cannot run locally" in e.problem and e.fix and "\n" not in str(e)


@pytest.mark.parametrize("cron, path, words", [
    ({"name": "tick"}, "spec", "empty spec string"),
    ({"name": "tick", "spec": "*/5 * * *"}, "spec", "expected exactly 5 fields, found 4"),
    ({"name": "tick", "spec": "61 * * * *"}, "spec", "not a valid cron expression"),
    ({"name": "tick", "spec": "@fortnightly"}, "spec", "unrecognized descriptor"),
    ({"name": "tick", "spec": "@every ten"}, "spec", "failed to parse duration"),
    ({"name": "tick", "spec": "@every 1m", "start": "yesterday"}, "start", "not an RFC 3339 time"),
    ({"spec": "@every 1m"}, "name", "has no name"),
])
def test_a_bad_cron_input_is_one_line_naming_the_field(cron, path, words):
    e = rejected(minimal(input={"cross": [pfs("a"), {"cron": cron}]}))
    assert e.where == f"p.json: input.cross[1].cron.{path}" and words in e.problem
    assert "\n" not in str(e)


def test_trigger_branches_are_named_in_pachds_order():
    trig = {"commits": 2}
    raw = minimal(input={"cross": [pfs("a", name="zed", trigger=trig), pfs("a", name="abe", trigger=trig),
                                   pfs("b", trigger=trig), pfs("a", name="mid", branch="dev", trigger=trig)]})
    running = spec.PipelineSpec.of(spec.normalize(raw, "p"))
    # setInputDefaults counts per repo, after SortInput has ordered the inputs by name
    assert [(n["name"], n["branch"]) for n in running.pfs_inputs] == [
        ("zed", "edges-trigger-2"), ("abe", "edges-trigger-1"), ("b", "edges-trigger-1"), ("mid", "dev")]
    assert running.pfs_inputs[0]["trigger"] == {"commits": 2, "branch": "master"}


def test_a_cron_input_reads_its_tick_repo_as_pachd_names_it():
    raw = spec.normalize(minimal(input={"cross": [pfs("a"), {"cron": {"name": "tick", "spec": "@hourly"}}]}), "p")
    assert spec.input_repos(raw) == ["a", "edges_tick"]
    running = spec.PipelineSpec.of(raw)
    assert running.pfs_inputs[1] == {"name": "tick", "repo": "edges_tick", "branch": "master", "glob": "/*"}
    named = minimal(input={"cron": {"name": "t", "spec": "@hourly", "repo": "clock"}})
    assert spec.input_repos(spec.normalize(named, "p")) == ["clock"]


def test_user_is_refused_only_outside_container_mode():
    from pachlite.pps.spec.fields import refused
    raw = spec.normalize(minimal(transform={"cmd": ["true"], "user": "root"}), "p.json")
    assert refused(raw, container=False)[0] == "transform.user"
    assert refused(raw, container=True) is None and refused(raw) is None


def test_warned_fields_give_one_line_each():
    from pachlite.pps.spec.fields import warnings
    raw = spec.normalize(minimal(resourceRequests={"memory": "1G"}, autoscaling=True,
                                 input=pfs("a", lazy=True)), "p.json")
    assert warnings(raw) == [
        "pachlite: warning: resourceRequests has no effect locally (no Kubernetes scheduler)",
        "pachlite: warning: autoscaling has no effect locally (local workers exist only while a job runs)",
        "pachlite: warning: input.pfs.lazy has no effect locally (inputs are always laid out in full)",
    ]
    assert warnings(spec.normalize(minimal(), "p.json")) == []


def test_job_timeout_is_in_the_running_spec():
    assert spec.PipelineSpec.of(spec.normalize(minimal(jobTimeout="90s"), "p.json")).job_timeout == 90
    assert spec.PipelineSpec.of(spec.normalize(minimal(), "p.json")).job_timeout is None


@pytest.mark.parametrize("node,path,words", [
    (pfs("a", "/*", s3=True), "input.pfs.glob", 'must set `glob` to "/"'),
    (pfs("a", s3=True, lazy=True), "input.pfs.lazy", "both `s3` and `lazy`"),
    (pfs("a", s3=True, emptyFiles=True), "input.pfs.emptyFiles", "both `s3` and `emptyFiles`"),
    ({"union": [pfs("a", s3=True), pfs("b")]}, "input.union[0].pfs.s3", "s3 inputs in union"),
])
def test_pachds_s3_rules_come_before_the_local_refusal(node, path, words):
    e = rejected(minimal(input=node))
    assert e.where == f"p.json: {path}" and words in e.problem
