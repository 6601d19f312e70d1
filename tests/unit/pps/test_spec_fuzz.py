"""The spec fuzzer: every field of Pachyderm's CreatePipelineRequest schema, given every wrong JSON
type, nulls, negatives and huge values, through the real `pachlite create pipeline -f FILE`.

Each case must be refused with one line (`pachlite: error: ...`, exit 1) and leave the store as it
was, or be accepted (protobuf reads null as "not set"; a value of the right type may be fine):
never a traceback. Cases run in this process through the CLI's own entry point (`cli.main`, which
prints the one line), and a sample again as a real subprocess.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

from helpers import Cli, put
from pachlite.pfs import PFS
from pachlite.pps import pipeline as pl
from pachlite.pps.spec.schema import schema
from pachlite.store import Store

NAME = "fuzzed"
BASE = {
    "pipeline": {"name": NAME},
    "input": {"pfs": {"repo": "images", "glob": "/*"}},
    "transform": {"cmd": ["true"]},
}
PFS_INPUT = BASE["input"]["pfs"]
# Valid content for messages the base spec leaves out, so a field inside them is reached.
VALID = {"pps_v2.PFSInput": PFS_INPUT, "pps_v2.CronInput": {"name": "tick", "spec": "@every 1h"}}
OTHER_INPUT = {"pfs": {**PFS_INPUT, "name": "other"}}  # the second child of a combinator


def _deep(n: int) -> dict:
    value: dict = {}
    for _ in range(n):
        value = {"a": value}
    return value


WRONG = [None, True, False, 0, -1, 10**18, 2**64, 1.5, "", "x", "../x", "99999999999999999999999s",
         [], [None], {}, _deep(200)]


def _fields(definition: str, make, prefix: str, inputs_deep: int = 0):
    """(path, make) for every field of a message and, recursively, of the messages inside it:
    make(value) is the whole spec with that field set to value."""
    for key, node in schema()["definitions"][definition]["properties"].items():
        path = f"{prefix}.{key}" if prefix else key
        yield path, lambda value, key=key: make({key: value})
        ref = node.get("$ref") or node.get("items", {}).get("$ref")
        if ref:
            child = ref.rsplit("/", 1)[-1]
            if child == "pps_v2.Input":
                if inputs_deep == 2:  # an input inside an input inside the root is deep enough
                    continue
                if "items" in node:
                    def item(fields, key=key, make=make):
                        return make({key: [fields, OTHER_INPUT]})
                    yield from _fields(child, item, f"{path}[0]", inputs_deep + 1)
                else:
                    # An input has exactly one type: a field replaces the whole input.
                    yield from _fields(child, lambda fields, key=key, make=make: make({key: fields}),
                                       path, inputs_deep + 1)
                continue
            base = VALID.get(child, {})
            if "items" in node:
                yield from _fields(child, lambda fields, key=key, make=make, base=base:
                                   make({key: [{**base, **fields}]}), f"{path}[0]", inputs_deep)
            else:
                yield from _fields(child, lambda fields, key=key, make=make, base=base:
                                   make({key: {**base, **fields}}), path, inputs_deep)
        elif "items" in node:  # a list of values, such as transform.cmd
            yield f"{path}[0]", lambda value, key=key, make=make: make({key: [value]})
        elif isinstance(node.get("additionalProperties"), dict):  # a map, such as transform.env
            yield f"{path}.KEY", lambda value, key=key, make=make: make({key: {"KEY": value}})


def _top(fields: dict) -> dict:
    return {**copy.deepcopy(BASE), **fields}


def _cron(**fields) -> dict:
    return _top({"input": {"cross": [{"cron": {"name": "tick", **fields}}, BASE["input"]]}})


def _secrets(*entries) -> dict:
    return _top({"transform": {"cmd": ["true"], "secrets": list(entries)}})


def _trigger(trigger) -> dict:
    return _top({"input": {"pfs": {**PFS_INPUT, "trigger": trigger}}})


# The fields issue #10 made honoured, given what must be refused (none of them may be accepted).
REFUSED_NEW = {
    "new:cron.spec=\"\"": _cron(spec=""),
    "new:cron.spec=null": _cron(spec=None),
    "new:cron.spec=4 fields": _cron(spec="* * * *"),
    "new:cron.spec=6 fields": _cron(spec="0 * * * * *"),
    "new:cron.spec=61 minutes": _cron(spec="61 * * * *"),
    "new:cron.spec=@every 0s": _cron(spec="@every 0s"),
    "new:cron.spec=@every -1s": _cron(spec="@every -1s"),
    "new:cron.spec=@sometimes": _cron(spec="@sometimes"),
    "new:cron.start=not a time": _cron(spec="@daily", start="soon"),
    "new:cron.start=no zone": _cron(spec="@daily", start="2026-01-01T00:00:00"),
    "new:cron.name missing": _top({"input": {"cron": {"spec": "@daily"}}}),
    "new:cron.repo=../x": _cron(spec="@daily", repo="../x"),
    "new:secrets[0] without name": _secrets({"envVar": "X", "key": "k"}),
    "new:secrets[0].name=null": _secrets({"name": None, "mountPath": "/s"}),
    "new:secrets[0] missing secret": _secrets({"name": "nope", "envVar": "X", "key": "k"}),
    "new:secrets[0] envVar without key": _secrets({"name": "nope", "envVar": "X"}),
    "new:secrets[0].name=../x": _secrets({"name": "../x", "mountPath": "/s"}),
    "new:secrets=[null]": _secrets(None),
    "new:trigger.cronSpec": _trigger({"branch": "master", "cronSpec": "@daily"}),
    "new:trigger.rateLimitSpec": _trigger({"branch": "master", "rateLimitSpec": "@daily"}),
    "new:trigger.size=lots": _trigger({"branch": "master", "size": "lots"}),
    "new:trigger.commits=-1": _trigger({"branch": "master", "commits": -1}),
    "new:trigger.branch=../x": _trigger({"branch": "../x", "commits": 1}),
    "new:trigger=[]": _trigger([]),
}


def cases() -> list[tuple[str, dict]]:
    out = []
    for path, make in _fields("CreatePipelineRequest", _top, ""):
        for value in WRONG:
            out.append((f"{path}={json.dumps(value)[:30]}", make(copy.deepcopy(value))))
    return out + list(REFUSED_NEW.items())


def _snapshot(pfs: PFS) -> tuple:
    """What a refused create must leave as it was (what `list pipeline`, `list repo`, `list
    commit` and `list file` show), and every file of the store on disk."""
    pipelines = [(p.name, p.spec, p.version, p.last_job) for p in pl.list_pipeline(pfs)]
    repos = pfs.list_repo()
    commits = {r.name: pfs.list_commit(r.name) for r in repos}
    files = {c.id: pfs.files(c.id) for cs in commits.values() for c in cs}
    root = pfs.store.root
    disk = sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and not p.name.endswith(("-wal", "-shm")))
    return pipelines, repos, commits, files, disk


def _create(spec_file: Path, store_root: Path) -> tuple[int, str, str]:
    """`pachlite create pipeline -f spec_file` through the CLI's entry point, in this process:
    (exit status, stdout, stderr). An exception the entry point lets through is a traceback."""
    from click.testing import CliRunner

    from pachlite.cli import main
    argv = sys.argv
    with CliRunner().isolation(env={"PACHLITE_STORE": str(store_root)}) as (out, err, _):
        sys.argv = ["pachlite", "create", "pipeline", "-f", str(spec_file)]
        try:
            main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except Exception as e:  # what a user would see as a traceback
            return -1, "", f"Traceback: {type(e).__name__}: {e}"
        finally:
            sys.argv = argv
        return code, out.getvalue().decode(), err.getvalue().decode()


def _one_error_line(stderr: str) -> bool:
    return stderr.startswith("pachlite: error: ") and stderr.count("\n") == 1


def test_every_field_given_every_wrong_value_is_refused_in_one_line_or_accepted(tmp_path):
    store_root = tmp_path / "store"
    pfs = PFS(Store(store_root))
    try:
        pfs.create_repo("images")
        put(pfs, "images", {"/a.txt": "a"})
        spec_file = tmp_path / "spec.json"
        baseline = _snapshot(pfs)
        refused, accepted, problems = 0, [], []
        for label, spec in cases():
            spec_file.write_text(json.dumps(spec))
            code, out, err = _create(spec_file, store_root)
            created = {p.name for p in pl.list_pipeline(pfs)}
            if created:  # accepted; its job may still fail, with one line
                accepted.append(label)
                if code not in (0, 1) or (code == 1 and not _one_error_line(err)) or "Traceback" in err:
                    problems.append(f"{label}: accepted, exit {code}: {err!r}")
                for name in created:
                    pl.delete_pipeline(pfs, name)
                baseline = _snapshot(pfs)
                continue
            refused += 1
            if code != 1 or not _one_error_line(err):
                problems.append(f"{label}: exit {code}, stderr {err!r}")
            elif _snapshot(pfs) != baseline:
                problems.append(f"{label}: refused, but the store changed")
        assert not problems, "\n".join(problems[:20]) + f"\n({len(problems)} problems)"
    finally:
        pfs.store.close()
    total = refused + len(accepted)
    print(f"\nspec fuzzer: {total} cases, {refused} refused in one line, {len(accepted)} accepted")
    assert total == len(cases()) > 1500  # every field of the schema, every value
    # The values pachd reads as "not set" are accepted; the ones issue #13 found are not.
    assert {"datumTries=null", "input.pfs.branch=null"} <= set(accepted)
    assert not {"input=null", "input.pfs.glob=0", "datumTries=-1", "outputBranch=\"../x\"",
                "parallelismSpec.constant=-1", "input.cross=0", *REFUSED_NEW} & set(accepted)


SAMPLE = ["input=null", "input.pfs.glob=0", "input.cross=\"x\"", "input.union[0].pfs.repo=[]",
          "datumTries=-1", "parallelismSpec.constant=-1", "outputBranch=\"../x\"",
          "transform.env.KEY=" + json.dumps(_deep(200))[:30], "new:cron.spec=4 fields",
          "new:secrets[0] without name", "new:trigger.cronSpec"]


def test_a_sample_is_refused_alike_by_the_real_command(cli: Cli):
    """The same refusals from the installed `pachlite`, each in its own process."""
    by_label = dict(cases())
    cli("create", "repo", "images")
    cli("put", "file", "images@master:/a.txt", "-f", cli.file("a.txt", "a"))

    def state():
        return cli.raw("list", "pipeline"), cli.raw("list", "repo"), cli.raw("list", "commit", "images")

    before = state()
    for label in SAMPLE:
        cli("create", "pipeline", "-f", cli.spec(by_label[label]), ok=False)  # one line, exit 1
    assert state() == before
