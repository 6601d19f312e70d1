"""Cron inputs as pachd reads them: the schedule (robfig/cron's ParseStandard, plus pachd's
`@never`), `start`, and the name of a tick file (the tick's time, RFC 3339, UTC). The tick repo's
name is tree.py's `cron_repo`."""

from __future__ import annotations

import datetime as dt

from pachlite.errors import SpecError
from pachlite.pps.spec.defaults import parse_duration

UTC = dt.timezone.utc
# robfig/cron's descriptors, as the five fields they stand for
_DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
                "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
                "@hourly": "0 * * * *"}


class Schedule:
    """When a cron input ticks: every `step` after the last tick (robfig's ConstantDelaySchedule),
    at the times five cron `fields` match, or (neither) never."""

    def __init__(self, step: dt.timedelta | None = None, fields: str | None = None):
        self.step, self.fields = step, fields

    def due(self, last: dt.datetime, now: dt.datetime, limit: int) -> tuple[list[dt.datetime], bool]:
        """The ticks after `last` up to `now`, oldest first: at most the `limit` latest (and
        whether older ones were left out). Found back from `now`, so a long gap costs nothing."""
        if self.step is not None:
            base = last.replace(microsecond=0)
            n = int((now - base) / self.step)
            ticks = [base + k * self.step for k in range(max(1, n - limit + 1), n + 1)]
            return ticks, n > limit
        if self.fields is None:
            return [], False
        from croniter import croniter
        # (a second on: croniter's get_prev leaves out a tick at exactly the time it starts from)
        it, back = croniter(self.fields, now.astimezone(UTC) + dt.timedelta(seconds=1)), []
        while len(back) <= limit:
            t = it.get_prev(dt.datetime).replace(fold=0)
            if t <= last:
                break
            if t <= now:
                back.append(t)
        return back[:limit][::-1], len(back) > limit


def schedule(spec: object) -> Schedule:
    """A cron input's `spec` → its schedule; a SpecError (problem, fix) when pachd would refuse it."""
    fix = 'write five fields ("*/5 * * * *"), a descriptor ("@hourly") or "@every 10s"'
    if not isinstance(spec, str) or not spec.strip():
        raise SpecError("error parsing cron-spec: empty spec string", fix)
    text = spec.strip()
    if text == "@never":  # pachd's cronutil: a tick in the year 9999, i.e. none
        return Schedule()
    if text.startswith("@every"):
        arg = text[len("@every"):].strip()
        try:
            seconds = parse_duration(arg, "@every") if arg else None
        except SpecError:
            seconds = None
        if not seconds:
            raise SpecError(f"error parsing cron-spec: failed to parse duration {arg!r}",
                            'give a Go duration, e.g. "@every 10s" or "@every 1h30m"')
        return Schedule(step=dt.timedelta(seconds=max(1.0, seconds)))  # robfig: at least 1s
    fields = _DESCRIPTORS.get(text, text)
    if fields.startswith("@"):
        raise SpecError(f"error parsing cron-spec: unrecognized descriptor: {text}", fix)
    if len(fields.split()) != 5:
        raise SpecError(f"error parsing cron-spec: expected exactly 5 fields, found "
                        f"{len(fields.split())}: {text}", fix)
    from croniter import croniter  # (only a spec with a cron input pays for the import)
    if not croniter.is_valid(fields):
        raise SpecError(f"error parsing cron-spec: {text!r} is not a valid cron expression", fix)
    return Schedule(fields=fields)


def parse_start(start: object) -> dt.datetime | None:
    """`start` (a protobuf Timestamp in JSON: RFC 3339) → an aware time; None when unset."""
    if start in (None, ""):
        return None
    try:
        t = dt.datetime.fromisoformat(start) if isinstance(start, str) else None
    except ValueError:
        t = None
    if t is None or t.tzinfo is None:
        raise SpecError(f"start {start!r} is not an RFC 3339 time",
                        'write it like "2026-01-01T00:00:00Z"')
    return t


def tick_name(t: dt.datetime) -> str:
    """The tick file's name: Go's time.RFC3339 of the tick, in UTC (pachd's pods run in UTC)."""
    return "/" + t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def tick_time(path: str) -> dt.datetime | None:
    """A tick file's time (None for a file that is not a tick)."""
    try:
        return parse_start(path.rsplit("/", 1)[-1])
    except SpecError:
        return None
