"""The steps a job runs, as its plan makes them.

A first job streams its plan: a thread makes the steps while the workers take the first ones, so
a job of 10^5 datums starts running before its plan is whole. A plan made beforehand is a feed
with every step ready (`Feed.of`).
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterator, Sequence

from pachlite.pps.plan import Step
from pachlite.pps.states import Action

# How many steps the plan makes ahead of the workers: enough that they never wait for it, few
# enough that a plan of 10^6 datums is not held whole while they work through it.
AHEAD = 4096


class Feed:
    """The steps a job runs, as its plan makes them: a thread makes the steps while the workers
    take the first ones. A plan made beforehand is a feed with every step ready (Feed.of)."""

    def __init__(self, total: int, steps: Iterator[Step] | None = None):
        self.total = total                 # how many steps run
        self.left = total                  # how many are not yet taken
        # (No step is kept once taken: a job of 10^6 datums holds only those running.)
        self.error: BaseException | None = None
        self._ready: collections.deque[Step] = collections.deque()
        self._cond = threading.Condition()
        self._done = steps is None
        self._closed = False  # the job takes no more steps: the plan stops making them
        self._thread = None
        if steps is not None:
            self._thread = threading.Thread(target=self._make, args=(steps,), daemon=True)
            self._thread.start()

    @classmethod
    def of(cls, runs: Sequence[Step]) -> Feed:
        feed = cls(len(runs))
        feed._ready.extend(runs)
        return feed

    def _make(self, steps: Iterator[Step]) -> None:
        ready: list[Step] = []
        try:
            for s in steps:
                if s.action == Action.RUN:
                    ready.append(s)
                    if len(ready) == 64:  # handed over in groups: one wake-up, not 64
                        with self._cond:
                            while len(self._ready) >= AHEAD and not self._closed:
                                self._cond.wait()
                            if self._closed:
                                return
                            self._ready.extend(ready)
                            self._cond.notify_all()
                        ready = []
        except BaseException as e:  # raised by plan(), after the workers stop
            self.error = e
        finally:
            with self._cond:
                self._ready.extend(ready)
                self._done = True
                self._cond.notify_all()

    def take(self, n: int) -> list[Step]:
        """Up to n steps to run, waiting for the plan to make one; [] once it has made them all."""
        with self._cond:
            while not self._ready and not self._done:
                self._cond.wait()
            taken = [self._ready.popleft() for _ in range(min(n, len(self._ready)))]
            self.left -= len(taken)
            self._cond.notify_all()  # the plan may make more
            return taken

    def __iter__(self) -> Iterator[Step]:
        while batch := self.take(64):
            yield from batch

    def close(self) -> None:
        """The job takes no more steps (it ended, or was stopped): the plan makes no more."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def wait(self) -> None:
        """Once the workers are done: raise what making the steps raised."""
        self.close()
        if self._thread is not None:
            self._thread.join()
        if self.error is not None:
            raise self.error
