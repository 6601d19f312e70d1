"""Cron inputs (pps/cron.py, pps/spec/cron.py): schedules as robfig/cron reads them, ticks as
pachd commits them (an empty file named by the tick's RFC 3339 time; `overwrite` deletes the
earlier ones), RunCron, the ticks `run` catches up (bounded), and a cron input crossed with a
pfs input."""

from __future__ import annotations

import datetime as dt

import pytest

from helpers import contents, put
from pachlite.errors import InvalidInput
from pachlite.pps import cron, pipeline as pl
from pachlite.pps.spec.cron import schedule, tick_name

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def at(**delta) -> dt.datetime:
    return T0 + dt.timedelta(**delta)


def test_every_ticks_a_whole_delay_after_the_last_tick():
    ticks, skipped = schedule("@every 10s").due(at(seconds=0.5), at(seconds=35), limit=16)
    assert ticks == [at(seconds=10), at(seconds=20), at(seconds=30)] and not skipped


def test_cron_fields_and_descriptors_tick_when_they_match():
    assert schedule("*/15 * * * *").due(at(minutes=1), at(minutes=46), 16) == \
        ([at(minutes=15), at(minutes=30), at(minutes=45)], False)
    assert schedule("@hourly").due(T0, at(hours=2, minutes=1), 16) == ([at(hours=1), at(hours=2)], False)
    assert schedule("@never").due(T0, at(days=400), 16) == ([], False)


def test_a_long_gap_gives_only_the_latest_ticks():
    ticks, skipped = schedule("@every 1s").due(T0, at(days=7), limit=16)
    assert skipped and len(ticks) == 16 and ticks[-1] == at(days=7)
    ticks, skipped = schedule("* * * * *").due(T0, at(days=7), limit=16)
    assert skipped and len(ticks) == 16 and ticks[-1] == at(days=7)


def test_a_tick_file_is_named_by_go_rfc3339_in_utc():
    assert tick_name(dt.datetime(2026, 5, 1, 14, 3, 7, 999, tzinfo=dt.timezone(dt.timedelta(hours=2)))) \
        == "/2026-05-01T12:03:07Z"


def clock_spec(**cron_fields) -> dict:
    return {"pipeline": {"name": "clock"},
            "input": {"cross": [{"cron": {"name": "tick", "spec": "@every 1m", **cron_fields}},
                                {"pfs": {"repo": "data", "glob": "/*"}}]},
            "transform": {"cmd": ["sh", "-c", 'cp $data "/pfs/out/$(basename $data)-$(basename $tick)"']}}


@pytest.fixture
def data(pfs):
    pfs.create_repo("data")
    put(pfs, "data", {"/a": "A", "/b": "B"})
    return pfs


def test_run_cron_ticks_and_the_job_crosses_the_tick_with_each_datum(data):
    pl.create_pipeline(data, clock_spec())
    assert "clock_tick" in [r.name for r in data.list_repo()]
    [r] = pl.run(data, ["clock"])
    assert r.action == "waiting"  # no tick yet, as on pachd before the first one
    assert cron.run_cron(data, "clock", pl.inspect_pipeline(data, "clock").spec, T0) == \
        ["clock_tick@master:/2026-01-01T12:00:00Z"]
    [r] = pl.run(data, ["clock"])
    assert r.job.state == "success"
    assert contents(data, "clock", text=True) == {"/a-2026-01-01T12:00:00Z": "A", "/b-2026-01-01T12:00:00Z": "B"}
    cron.run_cron(data, "clock", pl.inspect_pipeline(data, "clock").spec, at(minutes=5))
    [r] = pl.run(data, ["clock"])
    assert (r.job.processed, r.job.skipped) == (2, 2)  # the old tick's datums are skipped
    assert len(contents(data, "clock")) == 4


def test_overwrite_keeps_only_the_latest_tick(data):
    pl.create_pipeline(data, clock_spec(overwrite=True))
    spec = pl.inspect_pipeline(data, "clock").spec
    cron.run_cron(data, "clock", spec, T0)
    cron.run_cron(data, "clock", spec, at(minutes=1))
    assert list(contents(data, "clock_tick")) == ["/2026-01-01T12:01:00Z"]
    pl.run(data, ["clock"])
    assert sorted(contents(data, "clock")) == ["/a-2026-01-01T12:01:00Z", "/b-2026-01-01T12:01:00Z"]


def test_run_commits_the_ticks_that_fell_due_since_start(data):
    start = dt.datetime.now(UTC) - dt.timedelta(minutes=3, seconds=30)
    pl.create_pipeline(data, clock_spec(start=start.isoformat()))
    [first] = pl.run(data, ["clock"])  # a first job reads the heads: all three ticks
    assert len(contents(data, "clock_tick")) == 3 and first.job.processed == 6
    assert [r.action for r in pl.run(data, ["clock"])] == ["up to date"]
    cron.run_cron(data, "clock", pl.inspect_pipeline(data, "clock").spec)
    cron.run_cron(data, "clock", pl.inspect_pipeline(data, "clock").spec)
    assert [r.action for r in pl.run(data, ["clock"])] == ["ran", "ran"]  # a job per tick commit


def test_run_cron_refuses_a_pipeline_without_a_cron_input(data):
    with pytest.raises(InvalidInput, match="doesn't have a cron input"):
        cron.run_cron(data, "x", {"pipeline": {"name": "x"}, "input": {"pfs": {"repo": "data"}}})


def test_deleting_the_pipeline_deletes_its_tick_repo(data):
    pl.create_pipeline(data, clock_spec())
    pl.delete_pipeline(data, "clock", keep_repo=True)
    assert sorted(r.name for r in data.list_repo()) == ["clock", "data"]
