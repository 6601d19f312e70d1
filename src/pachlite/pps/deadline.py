"""jobTimeout: a job's deadline. pachd's worker ends the job's context when it passes and fails
the job with "job timed out"; here the executor starts no more datums and its running ones are
killed."""

from __future__ import annotations

import threading

JOB_TIMED_OUT = "job timed out"  # pachd's reason


class JobTimedOut(Exception):
    """The job ran past its jobTimeout."""


class Deadline:
    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self.expired = threading.Event()
        self._timer: threading.Timer | None = None

    def start(self, executor) -> None:
        """Stop `executor` (set its stop event, close it) once the deadline passes."""
        if not self.seconds:
            return

        def expire() -> None:
            self.expired.set()
            executor.setup.stop.set()
            executor.close()
        self._timer = threading.Timer(self.seconds, expire)
        self._timer.daemon = True
        self._timer.start()

    def check(self) -> None:
        if self.expired.is_set():
            raise JobTimedOut

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
