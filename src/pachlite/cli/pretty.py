"""Tables and units printed the way pachctl prints them (tabwriter columns, go-units sizes)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator, Sequence

_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]


def size(n: int | float | None) -> str:
    """go-units BytesSize: 4 significant digits, binary units (e.g. 57.27KiB)."""
    if n is None:
        return "-"
    n = float(n)
    i = 0
    while n >= 1024 and i < len(_UNITS) - 1:
        n /= 1024
        i += 1
    return f"{n:.4g}{_UNITS[i]}"


def duration(seconds: float | None) -> str:
    """go-units HumanDuration."""
    if seconds is None:
        return "-"
    s = int(seconds)
    if seconds < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    m = s // 60
    if m == 1:
        return "About a minute"
    if m < 60:
        return f"{m} minutes"
    h = int(seconds / 3600 + 0.5)
    if h == 1:
        return "About an hour"
    if h < 48:
        return f"{h} hours"
    if h < 24 * 7 * 2:
        return f"{h // 24} days"
    if h < 24 * 30 * 2:
        return f"{h // 24 // 7} weeks"
    if h < 24 * 365 * 2:
        return f"{h // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def ago(ts: float | None) -> str:
    if ts is None:
        return "-"
    return duration(max(0.0, time.time() - ts)) + " ago"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by at least one space, like Go's tabwriter in pachctl."""
    return "\n".join(table_lines(header, rows, settle=None))


# A table printed as its rows come takes its columns' widths from its first rows, this many.
SETTLE = 10_000


def table_lines(header: Sequence[str], rows: Iterable[Sequence[object]],
                settle: int | None = SETTLE) -> Iterator[str]:
    """table()'s lines, made as the rows come: the columns are as wide as the widest of the
    first `settle` rows' cells (all of them if None), and a wider cell after those widens its
    own line only. So a table of 10^6 rows (a job's datums) is printed without being held whole;
    one of up to `settle` rows is table()'s."""
    def cells(r) -> list[str]:
        return [("" if c is None else str(c)) for c in r]
    it = iter(rows)
    first = [list(map(str, header))] + [cells(r) for r in itertools.islice(it, settle)]
    widths = [max(len(r[i]) for r in first) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return " ".join([c.ljust(w) for c, w in zip(r, widths)]).rstrip()
    yield from map(line, first)
    del first
    for r in it:
        yield line(cells(r))
