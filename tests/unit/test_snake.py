"""Snakemake's view of the store: head markers kept in step with the branches, and the pipelines
`--forcerun`/`--forceall` ask to reprocess."""

import os
import threading
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


def test_a_folders_listing_marker_changes_with_a_new_changed_or_deleted_file_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_VAR, raising=False)
    folder, single = tmp_path / "attributes", tmp_path / "training.csv"
    (folder / "sub").mkdir(parents=True)
    for name in ("1.json", "2.json", "sub/3.json"):
        (folder / name).write_text("{}")
    single.write_text("y\n")
    inputs = snake.sources("attributes", [str(folder), str(single), "missing.csv"])
    marker = Path(inputs[-1])
    # The file and the missing path are inputs themselves (Snakemake stats one, reports the other).
    assert inputs[:2] == [str(single), "missing.csv"] and marker == Path(".pachlite/sources/attributes")
    assert os.stat(".pachlite").st_mode & 0o777 == 0o700

    def rewritten(change) -> bool:
        os.utime(marker, (100, 100))
        change()
        snake.sources("attributes", [str(folder), str(single), "missing.csv"])
        return os.stat(marker).st_mtime != 100

    assert not rewritten(lambda: None)  # nothing changed: the rule's input is as old as before
    assert not rewritten(lambda: single.write_text("y\n1\n"))  # a file input is not in the listing
    assert rewritten(lambda: (folder / "4.json").write_text("{}"))
    assert rewritten(lambda: (folder / "sub/3.json").write_text('{"a": 1}'))
    assert rewritten(lambda: (folder / "1.json").unlink())
    assert rewritten(lambda: os.utime(folder / "2.json", (5, 5)))  # touched: put file --sync decides
    assert snake.sources("training", [str(single)]) == [str(single)]  # no folder, no marker


def test_snakemakes_idle_rescheduling_timer_is_stopped_and_no_other():
    from snakemake.scheduling.job_scheduler import JobScheduler

    # The timer a scheduling round leaves behind, started by Snakemake's own method.
    scheduler = SimpleNamespace(_open_jobs=threading.Semaphore(0))
    JobScheduler._schedule_reevalutation(scheduler, 600)
    ours = threading.Timer(600, lambda: None)
    ours.start()
    try:
        stopped = snake.stop_idle_timers()
        assert len(stopped) == 1 and stopped[0] is not ours
        stopped[0].join(timeout=30)
        assert not stopped[0].is_alive()  # the interpreter no longer waits for it at exit
        assert ours.is_alive()
        assert not scheduler._open_jobs.acquire(blocking=False)  # cancelled, not fired
    finally:
        ours.cancel()
