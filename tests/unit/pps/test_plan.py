"""The datum plan: which datums of a job run, are skipped or deleted, and why.

Rules from reference/SEMANTICS.md ("Incremental processing"): compared with the base job (the
last successful one), a new datum runs, an unchanged one that succeeded is skipped, a changed or
recovered one runs again, and one only in the base is deleted (its outputs removed);
`reprocessSpec: every_job` skips nothing (pachd's noSkip).
"""

import hashlib

from pachlite.pps.datum import Datum, DatumInput, FileInfo, datum_id
from pachlite.pps.plan import BaseDatum, plan, retried
from pachlite.pps.states import Action, DatumState

SALT = "salt-1"


def datum(path: str, content: str, repo: str = "data") -> Datum:
    f = FileInfo(path, hashlib.sha256(content.encode()).hexdigest(), len(content))
    inputs = (DatumInput(repo, repo, "master", "c1", path, False, (f,)),)
    return Datum(datum_id(inputs), inputs)


def base_of(d: Datum, state: str = DatumState.SUCCESS, salt: str = SALT, job: str = "job1",
            outputs=(("/out", "h", 1),)) -> BaseDatum:
    return BaseDatum(d.id, d.hash(salt), state, tuple(outputs), job)


def test_first_job_runs_every_datum_as_new():
    ds = [datum("/a", "1"), datum("/b", "2")]
    p = plan(ds, SALT, {})
    assert [(s.action, s.datum_id, s.reason) for s in p.steps] == [
        (Action.RUN, ds[0].id, "new datum"), (Action.RUN, ds[1].id, "new datum")]
    assert p.total == 2 and [s.datum for s in p.runs] == ds


def test_unchanged_datum_is_skipped_new_one_runs():
    a, b = datum("/file", "x"), datum("/file2", "y")
    p = plan([a, b], SALT, {a.id: base_of(a)})
    assert [(s.action, s.datum_id) for s in p.steps] == [(Action.SKIP, a.id), (Action.RUN, b.id)]
    assert p.steps[0].reason == "unchanged since job job1"
    assert p.steps[0].base.outputs == (("/out", "h", 1),)  # what the skipped datum keeps
    assert (p.count(Action.RUN), p.count(Action.SKIP), p.total) == (1, 1, 2)


def test_a_datum_skipped_in_the_base_stays_skipped():
    a = datum("/file", "x")
    p = plan([a], SALT, {a.id: base_of(a, DatumState.SKIPPED, job="job0")})
    assert p.steps[0].action == Action.SKIP and p.steps[0].reason == "unchanged since job job0"


def test_changed_content_keeps_the_id_and_runs_again():
    old, new = datum("/file", "v1"), datum("/file", "v2")
    assert old.id == new.id and old.hash(SALT) != new.hash(SALT)
    p = plan([new], SALT, {old.id: base_of(old)})
    assert (p.steps[0].action, p.steps[0].reason) == (Action.RUN, "input or pipeline changed")
    assert p.steps[0].base is not None  # so the job removes the old outputs


def test_new_salt_runs_everything_again():
    a = datum("/file", "x")
    p = plan([a], "salt-2", {a.id: base_of(a, salt=SALT)})
    assert p.steps[0].action == Action.RUN


def test_recovered_datum_is_retried_next_job():
    a = datum("/file", "x")
    p = plan([a], SALT, {a.id: base_of(a, DatumState.RECOVERED, outputs=())})
    assert (p.steps[0].action, p.steps[0].reason) == (Action.RUN, "recovered in job job1")


def test_a_datum_that_failed_after_the_base_is_marked_a_retry():
    ok, failed, new = datum("/ok", "x"), datum("/failed", "y"), datum("/new", "z")
    p = retried(plan([ok, failed, new], SALT, {ok.id: base_of(ok)}),
                {failed.id: "job2", ok.id: "job2"})
    assert [(s.action, s.retry) for s in p.steps] == [
        (Action.SKIP, ""),  # a skip is no retry, whatever the map says
        (Action.RUN, "job2"), (Action.RUN, "")]
    assert retried(p, {}) is p


def test_vanished_datum_is_deleted_and_not_counted():
    a, gone = datum("/file3", "z"), datum("/file", "x")
    p = plan([a], SALT, {gone.id: base_of(gone, outputs=(("/file", "h", 1),))})
    assert [(s.action, s.datum_id) for s in p.steps] == [(Action.RUN, a.id), (Action.DELETE, gone.id)]
    deleted = p.steps[1]
    assert deleted.datum is None and deleted.base.outputs == (("/file", "h", 1),)
    assert p.total == 1  # total counts the job's datums, not the removed ones


def test_every_job_skips_nothing():
    a, b = datum("/a", "1"), datum("/b", "2")
    p = plan([a, b], SALT, {a.id: base_of(a)}, no_skip=True)
    assert [(s.action, s.reason) for s in p.steps] == [
        (Action.RUN, "reprocessSpec is every_job"), (Action.RUN, "new datum")]


def test_empty_input_against_empty_base_is_an_empty_plan():
    p = plan([], SALT, {})
    assert p.steps == () and p.total == 0 and p.runs == []
