"""What a transform's image holds, on this machine (pachlite-images.yaml): each mapped path is the
local copy, read-only, at its path in the image, in the datum's namespace only; the image's
WORKDIR is where the command starts unless transform.workingDir says otherwise; the mapped files
are the pipeline's code; a bad file is one line naming the entry and nothing runs."""

import os
from pathlib import Path

import pytest

from helpers import contents, put
from pachlite.errors import InvalidInput
from pachlite.pps import images, pipeline as pl
from pachlite.pps.executors import namespace

needs_namespaces = pytest.mark.skipif(namespace.unavailable() is not None,
                                      reason=f"no private /pfs here: {namespace.unavailable()}")
# Top-level paths no machine has: made in the namespace's own root, never on the host.
TOOL, APP = "/pachlite-test-tool.sh", "/pachlite-test-app"
SHOW = ("cat $in > /pfs/out/in; pwd > /pfs/out/pwd; sh " + TOOL + " > /pfs/out/tool; "
        "ls " + APP + " > /pfs/out/app; cat HOST > /pfs/out/host; "
        "touch " + APP + "/new 2> /pfs/out/write || true")


@pytest.fixture
def project(pfs, tmp_path):
    (tmp_path / "tool.sh").write_text("echo from the image\n")
    (tmp_path / "src" / "lib").mkdir(parents=True)
    (tmp_path / "src" / "main.py").write_text("print('main')\n")
    (tmp_path / "mine.txt").write_text("the local copy\n")
    (tmp_path / "host.txt").write_text("the machine's own\n")
    (tmp_path / images.FILE).write_text(
        f"example/tool:1.0:\n  workingDir: {APP}\n  {TOOL}: tool.sh\n  {APP}: src\n"
        f"  {tmp_path}/host.txt: mine.txt\n")
    pfs.create_repo("in")
    put(pfs, "in", {"/a": "a\n"})
    return tmp_path


def run(pfs, cwd: Path, name: str = "show", **transform):
    cmd = SHOW.replace("HOST", str(cwd / "host.txt"))
    pl.create_pipeline(pfs, {"pipeline": {"name": name}, "input": {"pfs": {"repo": "in", "glob": "/*"}},
                             "transform": {"image": "example/tool:1.0", "cmd": ["sh", "-c", cmd],
                                           **transform}}, cwd=str(cwd), update=True)
    [r] = pl.run(pfs, [name], cwd=str(cwd))
    assert r.job.state == "success", r.job.reason
    return r.job


@needs_namespaces
def test_mapped_paths_are_the_local_copies_read_only_in_the_namespace_only(pfs, project):
    run(pfs, project)
    out = contents(pfs, "show", text=True)
    assert out["/in"] == "a\n"  # /pfs as a worker's
    assert out["/pwd"] == APP + "\n"  # the image's WORKDIR
    assert out["/tool"] == "from the image\n"
    assert out["/app"].split() == ["lib", "main.py"]
    assert "Read-only file system" in out["/write"]
    assert out["/host"] == "the local copy\n"  # bound over the machine's file, for the datum only
    assert (project / "host.txt").read_text() == "the machine's own\n"
    assert not os.path.lexists(TOOL) and not os.path.lexists(APP)


@needs_namespaces
def test_transform_working_dir_wins_over_the_images(pfs, project):
    run(pfs, project, workingDir="/tmp")
    assert contents(pfs, "show", text=True)["/pwd"] == "/tmp\n"


@needs_namespaces
def test_a_changed_mapped_file_is_changed_code_every_datum_runs_again(pfs, project):
    run(pfs, project)
    put(pfs, "in", {"/b": "b\n"})
    [r] = pl.run(pfs, ["show"], cwd=str(project))
    assert (r.job.processed, r.job.skipped) == (1, 1)
    (project / "src" / "main.py").write_text("print('main, version 2')\n")
    [r] = pl.run(pfs, ["show"], cwd=str(project))
    assert (r.job.processed, r.job.skipped) == (2, 0)


def test_no_file_maps_nothing(tmp_path):
    assert images.layout(tmp_path, "example/tool:1.0") is None
    assert images.layout(None, "example/tool:1.0") is None


def test_a_layout_lists_its_files_by_their_image_paths(project):
    layout = images.layout(project, "example/tool:1.0")
    assert layout.workdir == APP
    assert [(p, f.name) for p, f in sorted(layout.files())] == [
        (APP + "/main.py", "main.py"), (TOOL, "tool.sh"), (f"{project}/host.txt", "mine.txt")]


@pytest.mark.parametrize("text, problem", [
    ("img: [", "is not YAML"),
    ("- img\n", "must map image names to their paths"),
    ("img: /x\n", "must map paths in the image to local paths"),
    ("img:\n  x.py: tool.sh\n", "'x.py' is not an absolute path in the image"),
    ("img:\n  /a/../b: tool.sh\n", "is not an absolute path in the image"),
    ("img:\n  /pfs/x: tool.sh\n", "/pfs/x is under /pfs"),
    ("img:\n  /x.py: missing.py\n", "/x.py maps missing.py, which does not exist"),
    ("img:\n  /x.py: [a]\n", "/x.py must be a path"),
    ("img:\n  /usr/pachlite-no-such/x.py: tool.sh\n", "cannot be made: this machine has no"),
    ("img:\n  /usr: tool.sh\n", "/usr is a folder on this machine, and"),
    ("img:\n  /app: src\n  /app/new.py: tool.sh\n", "cannot be made: the folder mapped at /app"),
    ("img:\n  workingDir: /pachlite-no-such\n", "workingDir /pachlite-no-such is not a folder"),
])
def test_a_bad_file_is_one_problem_naming_the_entry(tmp_path, text, problem):
    (tmp_path / "tool.sh").write_text("")
    (tmp_path / "src").mkdir()
    (tmp_path / images.FILE).write_text(text)
    with pytest.raises(InvalidInput) as e:
        images.layout(tmp_path, "img")
    assert problem in str(e.value) and str(tmp_path / images.FILE) in str(e.value)
    assert "\n" not in str(e.value)


def test_a_bad_file_stops_the_cli_before_anything_is_stored(cli):
    cli("create", "repo", "in")
    cli.file(images.FILE, "other/image:1:\n  /x.py: missing.py\n")
    spec = {"pipeline": {"name": "p"}, "input": {"pfs": {"repo": "in", "glob": "/*"}},
            "transform": {"cmd": ["true"], "image": "other/image:1"}}
    err = cli("create", "pipeline", "-f", cli.spec(spec), ok=False).stderr
    assert "/x.py maps missing.py, which does not exist" in err
    assert cli.out("list", "pipeline").splitlines()[1:] == []


@needs_namespaces
def test_without_namespaces_a_mapped_image_runs_no_job_and_says_why(cli):
    cli("create", "repo", "in")
    cli.file("a", "a\n")
    cli("put", "file", "in@master:/a", "-f", "a")
    cli.file("tool.sh", "echo from the image\n")
    cli.file(images.FILE, f"example/tool:1.0:\n  {TOOL}: tool.sh\n")
    spec = cli.spec({"pipeline": {"name": "p"}, "input": {"pfs": {"repo": "in", "glob": "/*"}},
                     "transform": {"cmd": ["sh", "-c", f"sh {TOOL} > /pfs/out/x"], "image": "example/tool:1.0"}})
    cli.env["PACHLITE_USERNS"] = "0"
    err = cli("create", "pipeline", "-f", spec, ok=None).stderr.splitlines()
    assert err[-1] == (f"pachlite: error: {images.FILE} maps paths of example/tool:1.0, which need a private "
                       "/pfs: user namespaces are switched off ($PACHLITE_USERNS=0); run with --container")
    assert cli.jobs() == []
    del cli.env["PACHLITE_USERNS"]
    assert "success: 1 + 0 / 1" in cli.out("run")
