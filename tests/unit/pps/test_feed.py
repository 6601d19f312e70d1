"""The steps a job runs, as its plan makes them: the plan runs ahead of the workers, but only so
far (a plan of 10^6 datums is not held whole), and a job that stops taking steps stops it."""

from __future__ import annotations

import threading

from pachlite.pps import feed as fd
from pachlite.pps.plan import Step
from pachlite.pps.states import Action


def counted(n: int, made: list[int]):
    for i in range(n):
        made[0] = i + 1
        yield Step(Action.RUN, f"d{i}", "new datum")


def test_the_plan_runs_only_so_far_ahead_of_the_workers_and_every_step_comes_once_in_order():
    made = [0]
    feed = fd.Feed(3 * fd.AHEAD, counted(3 * fd.AHEAD, made))
    first = feed.take(10)
    threading.Event().wait(0.2)  # (time for the plan to run ahead, were it not held back)
    assert made[0] <= 10 + fd.AHEAD + 128
    rest = [s for batch in iter(lambda: feed.take(1000), []) for s in batch]
    feed.wait()
    assert [s.datum_id for s in first + rest] == [f"d{i}" for i in range(3 * fd.AHEAD)]


def test_a_job_that_stops_taking_steps_stops_its_plan():
    made = [0]
    feed = fd.Feed(10 * fd.AHEAD, counted(10 * fd.AHEAD, made))
    feed.take(1)
    feed.wait()  # returns: the plan stops instead of waiting for a taker that never comes
    assert made[0] < 2 * fd.AHEAD
