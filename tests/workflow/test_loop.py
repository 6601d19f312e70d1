"""The laptop loop, run by the real `snakemake` in a copy of the project: an edited script
reprocesses its stage and what reads its changed output, --forcerun/--forceall reprocess, a
failure names its retry and is retried after a fix, and branches moved outside Snakemake are
noticed, input repos included."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.slow


def new_jobs(wf, before: int) -> dict[str, tuple[int, int]]:
    """pipeline → (processed, skipped) of the newest of its jobs made since there were `before`
    jobs."""
    jobs, out = wf.jobs(), {}
    for j in jobs[: len(jobs) - before]:  # newest first
        out.setdefault(j["pipeline"], (j["processed"], j["skipped"]))
    return out


def append(path, text: str) -> None:
    path.write_text(path.read_text() + text)


def test_an_edited_script_reprocesses_its_stage_and_what_reads_its_changed_output(wf):
    wf.snakemake()
    before = len(wf.jobs())
    append(wf.root / "scripts/infer.py", "# a comment\n")
    wf.snakemake()
    assert new_jobs(wf, before) == {"infer": (3, 0)}  # every datum of infer, nothing else

    before = len(wf.jobs())
    append(wf.root / "scripts/qc_pre_process.py", "# a comment\n")
    wf.snakemake()
    # qc_pre_process ran again; its output did not change, so what reads it skipped its datums.
    assert new_jobs(wf, before) == {"qc_pre_process": (1, 0), "qcontrol": (0, 1), "infer": (0, 3)}

    before = len(wf.jobs())
    append(wf.root / "scripts/diabetes/data.py", "# a comment\n")  # every stage imports it
    wf.snakemake()
    assert new_jobs(wf, before) == {"split": (1, 0), "qc_pre_process": (1, 0), "model": (1, 0),
                                    "qcontrol": (1, 0), "infer": (3, 0)}
    assert "Nothing to be done" in wf.snakemake().stderr
    assert len(wf.jobs()) == before + 5


def test_forcerun_and_forceall_reprocess(wf):
    wf.snakemake()
    before = len(wf.jobs())
    wf.snakemake("--forcerun", "model")
    # model's output is the same model: qcontrol and infer run, but skip their datums.
    assert new_jobs(wf, before) == {"model": (1, 0), "qcontrol": (0, 1), "infer": (0, 3)}
    before = len(wf.jobs())
    wf.snakemake("--forceall")
    assert new_jobs(wf, before) == {"split": (1, 0), "qc_pre_process": (1, 0), "model": (1, 0),
                                    "qcontrol": (1, 0), "infer": (3, 0)}
    assert wf.pachlite("run").stdout.count("up to date") == 5  # and a plain run is a no-op


def test_a_failing_stage_names_its_retry_and_the_fix_retries_it(wf):
    wf.snakemake()
    script = wf.root / "scripts/qcontrol.py"
    good = script.read_text()
    script.write_text(good.replace('    return {"model.json"', '    raise RuntimeError("broken")\n'
                                   '    return {"model.json"', 1))
    p = wf.snakemake(ok=False)
    failed = wf.jobs()[0]
    assert (failed["pipeline"], failed["state"]) == ("qcontrol", "failure")
    assert f"'pachlite restart datum qcontrol@{failed['id']} " in p.stderr

    again = wf.snakemake(ok=False)  # no fix, no retry: the failure said again, no new job
    assert "not run again" in again.stdout + again.stderr
    assert f"pachlite restart datum qcontrol@{failed['id']} " in again.stderr
    assert wf.jobs()[0]["id"] == failed["id"]
    assert wf.pachlite("run", "--dry-run").returncode == 0

    before = len(wf.jobs())
    script.write_text(good)  # the fix
    wf.snakemake()
    assert new_jobs(wf, before) == {"qcontrol": (1, 0), "infer": (0, 3)}
    # infer's job of the failed commit set is unrunnable, as pachd marks it; the next set's ran.
    assert [(j["id"], j["state"]) for j in wf.jobs() if j["pipeline"] == "infer"][1] == \
        (failed["id"], "unrunnable")


def test_restart_datum_retries_a_datum_failed_by_its_environment(wf, tmp_path):
    # A broken interpreter on PATH: a failure outside the code, fixed outside it.
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "python3").write_text("#!/bin/sh\necho 'No module named pandas' >&2\nexit 1\n")
    (broken / "python3").chmod(0o755)
    good_path = wf.env["PATH"]
    wf.env["PATH"] = f"{broken}:{good_path}"
    p = wf.snakemake(ok=False)
    command = re.search(r"'(pachlite restart datum split@\w+ [^']+)'", p.stderr).group(1)
    wf.env["PATH"] = good_path
    assert "not run again" in wf.snakemake(ok=False).stdout  # the environment is not code

    out = wf.pachlite(*command.split()[1:]).stdout
    assert re.fullmatch(r"split: job \w+ success: 1 \+ 0 / 1\n", out)
    wf.snakemake()
    assert sorted(j["pipeline"] for j in wf.jobs() if j["state"] == "success") == [
        "infer", "model", "qc_pre_process", "qcontrol", "split"]


def test_input_branches_moved_outside_snakemake_are_noticed_and_kept(wf):
    wf.snakemake()
    first_model = wf.get("model@master:/model.json")
    csv = wf.root / "data/diabetes.csv"
    lines = csv.read_text().splitlines(keepends=True)
    csv.write_text("".join(lines[:1] + lines[3:]))
    wf.snakemake()
    assert wf.get("model@master:/model.json") != first_model
    edited = wf.head("training")

    wf.pachlite("create", "branch", "training@master", "--head", "training@master^")
    rolled_back = wf.head("training")
    wf.snakemake()
    assert wf.head("training") == rolled_back  # the ingest rule did not undo the rollback
    assert wf.get("model@master:/model.json") == first_model
    assert "Nothing to be done" in wf.snakemake().stderr

    before = len(wf.jobs())
    wf.pachlite("put", "file", "attributes@master:/4.json", "-f", "data/attributes/1.json")
    wf.snakemake()
    assert new_jobs(wf, before) == {"infer": (1, 3)}

    # data/ edited, then the branch moved, both since the last run: the edit is a new commit on
    # the moved branch.
    csv.write_text("".join(lines[:1] + lines[5:]))
    wf.pachlite("create", "branch", "training@master", "--head", edited)
    wf.snakemake()
    assert wf.raw("inspect", "commit", "training@master")["parent_commit"]["id"] == edited
    assert wf.get("training@master:/diabetes.csv") == csv.read_text()
