"""Snakemake's view of the store: head markers kept in step with the branches, and the pipelines
`--forcerun`/`--forceall` ask to reprocess."""

import os
from pathlib import Path
from types import SimpleNamespace

from helpers import put
from pachlite import snake
from pachlite.pfs.address import Address
from pachlite.store.location import ENV_VAR


def test_a_branch_moved_outside_snakemake_rewrites_its_marker_just_newer(pfs, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(pfs.store.root))
    for repo in ("training", "split"):
        pfs.create_repo(repo)
    first = put(pfs, "training", {"/d.csv": "1"}).id
    second = put(pfs, "training", {"/d.csv": "2"}).id
    put(pfs, "split", {"/x": "1"})
    marker, reader = snake.head("training"), snake.head("split")
    for repo, m, t in (("training", marker, 100), ("split", reader, 200)):  # as a run leaves them
        snake.write_head(pfs.store.root, repo, m)
        os.utime(m, (t, t))
    assert snake.sync_heads(["training", "split", "none"]) == []  # in step: left alone
    assert os.stat(marker).st_mtime == 100

    pfs.create_branch("training", "master", head=Address("training", commit=first))
    assert snake.sync_heads(["training", "split"]) == ["training"]
    # The marker names the new head, so the ingest rule has nothing to redo; it is newer than
    # the outputs of the rules that read it (they run) and older than data edited since the
    # last run (then the ingest rule runs: a new commit on the moved branch).
    assert Path(marker).read_text().strip() == first != second
    assert 200 < os.stat(marker).st_mtime < 201


def settings(forceall=False, forcerun=(), forcetargets=False, targets=()):
    return SimpleNamespace(forceall=forceall, forcerun=set(forcerun), forcetargets=forcetargets,
                           targets=set(targets))


def test_forced_rules_and_markers_name_the_pipelines_to_reprocess():
    pipelines = ["split", "model", "infer"]
    assert snake.reprocess(settings(), pipelines) == []
    assert snake.reprocess(settings(forceall=True), pipelines) == pipelines
    assert snake.reprocess(settings(forcerun={"model", "ingest_training"}), pipelines) == ["model"]
    assert snake.reprocess(settings(forcerun={snake.head("infer")}), pipelines) == ["infer"]
    assert snake.reprocess(settings(forcetargets=True, targets={"split"}), pipelines) == ["split"]
    assert snake.reprocess(settings(targets={"split"}), pipelines) == []
