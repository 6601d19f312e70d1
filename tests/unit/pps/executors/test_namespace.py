"""/pfs where Pachyderm puts it: code written for a cluster worker, with literal /pfs paths, runs
unchanged — each datum in a private mount namespace whose /pfs is laid out as pachd's worker lays
it out (/pfs/<input>, /pfs/out and /pfs/.env symlinks into /pfs/.scratch/<dir>), inputs
read-only. Where the machine has no user namespaces (simulated with PACHLITE_USERNS=0), the CLI
says so in one line and datums run in a scratch folder with /pfs rewritten."""

import sys

import pytest

from helpers import contents, datums, logs, put
from pachlite.pps import pipeline as pl
from pachlite.pps.executors import namespace, nextdatum

needs_namespaces = pytest.mark.skipif(namespace.unavailable() is not None,
                                      reason=f"no private /pfs here: {namespace.unavailable()}")

# As Pachyderm's examples write them: paths, not variables.
PACHYDERM_STYLE = """\
import os
for dirpath, _, names in os.walk("/pfs/images"):
    for name in names:
        with open(os.path.join(dirpath, name)) as f:
            text = f.read()
        os.makedirs("/pfs/out/sizes", exist_ok=True)
        with open(f"/pfs/out/sizes/{name}.txt", "w") as f:
            f.write(str(len(text)))
"""


def make(pfs, cmd, glob="/*", name="edges", **extra):
    pl.create_pipeline(pfs, {"pipeline": {"name": name},
                             "input": {"pfs": {"repo": "images", "glob": glob}},
                             "transform": {"cmd": cmd, **extra.pop("transform", {})}, **extra},
                       update=True)
    [r] = pl.run(pfs, [name])
    return r.job


@pytest.fixture
def images(pfs):
    pfs.create_repo("images")
    put(pfs, "images", {"/a.png": "aaaa", "/b.png": "bb", "/dir/c.png": "c"})
    return pfs


@needs_namespaces
@pytest.mark.parametrize("interpreter", ["warm", "process"])
def test_a_script_with_literal_pfs_paths_runs_unchanged(images, tmp_path, interpreter, monkeypatch):
    script = tmp_path / "edges.py"
    script.write_text(PACHYDERM_STYLE)
    if interpreter == "process":  # one interpreter per datum, as in a container
        monkeypatch.setenv("PACHLITE_WARM_WORKERS", "0")
    job = make(images, [sys.executable, str(script)])
    assert (job.state, job.processed) == ("success", 3)
    assert contents(images, "edges", text=True) == {
        "/sizes/a.png.txt": "4", "/sizes/b.png.txt": "2", "/sizes/c.png.txt": "1"}


@needs_namespaces
def test_inputs_are_read_only_and_the_next_datum_sees_them_whole(images):
    job = make(images, ["sh", "-c", "mv /pfs/images/a.png /pfs/images/z.png 2>&1; "
                                    "ls /pfs/images > /pfs/out/$(basename $images)"],
               glob="/", datumTries=1)
    assert job.state == "success"
    [row] = datums(images, job)
    assert "Read-only file system" in "\n".join(logs(images, job, row["id"]))
    assert contents(images, "edges", text=True) == {"/images": "a.png\nb.png\ndir\n"}
    make(images, ["sh", "-c", "touch /pfs/new 2>&1 || true; ls -a /pfs > /pfs/out/root"],
         glob="/", name="root", datumTries=1)
    assert contents(images, "root", text=True)["/root"].split() == [".", "..", ".env", ".scratch",
                                                                     "images", "out"]


@needs_namespaces
def test_the_layout_is_a_workers_symlinks_and_find_follows_them(images):
    # pachd links /pfs/<input>, /pfs/out and /pfs/.env into /pfs/.scratch/<dir>: `find` without
    # -L sees only the link, `find -L` the datum's files (Pachyderm's docs say to use -L).
    make(images, ["sh", "-c", "find -L /pfs/images | sort > /pfs/out/follow; "
                              "find /pfs/images > /pfs/out/plain; "
                              "for n in images out .env; do readlink /pfs/$n; done > /pfs/out/links"],
         glob="/")
    out = contents(images, "edges", text=True)
    assert out["/follow"].split() == ["/pfs/images", "/pfs/images/a.png", "/pfs/images/b.png",
                                      "/pfs/images/dir", "/pfs/images/dir/c.png"]
    assert out["/plain"].split() == ["/pfs/images"]
    links = out["/links"].split()
    scratch = links[0].rsplit("/", 1)[0]
    assert scratch.startswith(".scratch/") and links == [f"{scratch}/images", f"{scratch}/out",
                                                         f"{scratch}/.env"]


@needs_namespaces
def test_pfs_env_holds_the_datums_variables(images):
    job = make(images, ["sh", "-c", "cp /pfs/.env /pfs/out/$(basename $images).env"])
    envs = {name.removesuffix(".env"): dict(line.split("=", 1) for line in text.splitlines())
            for name, text in contents(images, "edges", text=True).items()}
    assert {name: env["images"] for name, env in envs.items()} == {
        "/a.png": "/pfs/images/a.png", "/b.png": "/pfs/images/b.png", "/dir": "/pfs/images/dir"}
    assert {env["images_COMMIT"] for env in envs.values()} == {job.inputs[0][2]}
    assert {env["PACH_DATUM_ID"] for env in envs.values()} == {r["id"] for r in datums(images, job)}


@needs_namespaces
def test_a_symlink_to_an_input_uploads_its_content(images):
    # An absolute link names /pfs/... as user code sees it; pachd redirects such links too.
    make(images, ["sh", "-c", "ln -s $images /pfs/out/$(basename $images)"])
    assert contents(images, "edges", text=True) == {"/a.png": "aaaa", "/b.png": "bb", "/dir/c.png": "c"}


def test_next_datum_messages_are_the_sdks():
    from pachyderm_sdk.api.worker import NextDatumRequest, NextDatumResponse
    assert nextdatum.decode_request(bytes(NextDatumRequest(error="ValueError('x')"))) == "ValueError('x')"
    assert nextdatum.decode_request(bytes(NextDatumRequest())) == ""
    env = ["images=/pfs/images/a.png", "PACH_DATUM_ID=" + "é" * 200]
    assert NextDatumResponse().parse(nextdatum.encode_response(env)).env == env


def test_without_user_namespaces_the_cli_says_so_in_one_line(cli):
    # PACHLITE_USERNS=0 makes pachlite behave as on a machine without user namespaces.
    cli.env["PACHLITE_USERNS"] = "0"
    cli("create", "repo", "images")
    cli.file("a.png", "aaaa")
    cli("put", "file", "images@master:/a.png", "-f", "a.png")
    spec = {"pipeline": {"name": "edges"}, "input": {"pfs": {"repo": "images", "glob": "/*"}},
            "transform": {"cmd": ["sh", "-c", "cp $images /pfs/out/"]}}
    p = cli("create", "pipeline", "-f", cli.spec(spec))
    [line] = [x for x in p.stderr.splitlines() if "warning" in x]
    assert line == ("pachlite: warning: user namespaces are switched off ($PACHLITE_USERNS=0): "
                    "datums run in a scratch folder with /pfs rewritten in the command, stdin and "
                    "environment; code that opens literal /pfs paths needs --container")
    with cli.lib() as pfs:  # the rewriting runner still runs what names /pfs in its command
        assert contents(pfs, "edges", text=True) == {"/a.png": "aaaa"}
    batched = {**spec, "pipeline": {"name": "batched"},
               "transform": {**spec["transform"], "datumBatching": True}}
    p = cli("create", "pipeline", "-f", cli.spec(batched, "b.json"), ok=None)
    assert p.returncode == 1 and p.stderr.splitlines()[-1].startswith(
        "pachlite: error: datumBatching needs a private /pfs: user namespaces are switched off")


@needs_namespaces
def test_a_worker_namespace_shows_each_datum_only_its_own_files_and_an_empty_out(images):
    # One worker runs the three datums in turn, in one namespace: what the last datum had at
    # /pfs/images and wrote to /pfs/out is gone before the next one starts.
    job = make(images, ["sh", "-c", "l=$(ls -A /pfs/images/ /pfs/out/; readlink /pfs/out); "
                                    "echo \"$l\" > /pfs/out/$(basename $images); "
                                    "echo left > /pfs/out/extra-$(basename $images)"],
               parallelismSpec={"constant": 1})
    assert job.state == "success", job.reason
    out = contents(images, "edges", text=True)
    listings = {name: out[name].splitlines() for name in ("/a.png", "/b.png", "/dir")}
    assert {name: lines[:-1] for name, lines in listings.items()} == {
        "/a.png": ["/pfs/images/:", "a.png", "", "/pfs/out/:"],
        "/b.png": ["/pfs/images/:", "b.png", "", "/pfs/out/:"],
        "/dir": ["/pfs/images/:", "dir", "", "/pfs/out/:"]}
    assert len({lines[-1] for lines in listings.values()}) == 1  # the same worker's /pfs


@needs_namespaces
def test_a_datum_that_kills_its_namespace_worker_fails_alone(images):
    # b.png kills the process that forked it (the worker's launcher): only b.png fails; the
    # datums after it get a new worker, and its own log says what happened.
    job = make(images, ["sh", "-c", "[ $(basename $images) = b.png ] && kill -9 $PPID; "
                                    "cp -r $images /pfs/out/"],
               parallelismSpec={"constant": 1}, datumTries=1)
    rows = by_name(images, job)
    assert {name: r["state"] for name, r in rows.items()} == {
        "a.png": "success", "b.png": "failed", "dir": "success"}
    assert "namespace worker ended" in rows["b.png"]["reason"]
    assert {name: len(r["outputs"]) for name, r in rows.items()} == {"a.png": 1, "b.png": 0, "dir": 1}


@needs_namespaces
def test_stdin_env_and_exit_codes_are_each_datums_own(images):
    job = make(images, ["sh"], parallelismSpec={"constant": 1}, datumTries=1,
               transform={"stdin": ["echo \"$GREETING $(basename $images)\" > /pfs/out/$(basename $images)",
                                    "[ $(basename $images) != a.png ] || exit 7"],
                          "env": {"GREETING": "hi"}})
    rows = by_name(images, job)
    assert {name: r["state"] for name, r in rows.items()} == {
        "a.png": "failed", "b.png": "success", "dir": "success"}
    assert rows["a.png"]["reason"] == "command exited with code 7"
    assert {name: len(r["outputs"]) for name, r in rows.items()} == {"a.png": 0, "b.png": 1, "dir": 1}


def by_name(pfs, job) -> dict:
    """A job's datums by the name of their one input file or folder."""
    return {r["inputs"][0].rstrip("/").rsplit("/", 1)[1]: r for r in datums(pfs, job)}


@needs_namespaces
def test_a_command_that_cannot_start_fails_its_datum_with_the_reason(images, tmp_path):
    script = tmp_path / "not-executable.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    for cmd, reason in ((["no-such-program-xyz"], "127: no-such-program-xyz: command not found"),
                        ([str(script)], f"126: {script}: permission denied")):
        job = make(images, cmd, glob="/", datumTries=1)
        [row] = datums(images, job)
        assert (job.state, row["reason"]) == ("failure", f"command exited with code {reason}")


@needs_namespaces
def test_a_large_environment_reaches_the_datum_whole(images):
    # Larger than one socket message can carry (~200 KB): the request goes through a file. (One
    # variable stays under the kernel's 128 KiB a string.)
    job = make(images, ["sh", "-c", 'echo ${#BIG1} ${#BIG2} > /pfs/out/$(basename $images)'],
               glob="/", transform={"env": {"BIG1": "x" * 120_000, "BIG2": "y" * 120_000}})
    assert job.state == "success", job.reason
    assert contents(images, "edges", text=True) == {"/images": "120000 120000\n"}
