"""Executors: the ways a job's datums run (base.py has the protocol). Kept free of imports, since
warm.py runs as `python -c BOOT` (its main) inside the user's interpreter."""

from __future__ import annotations


def select(transform, batching: bool, container: bool) -> type:
    """The executor for a transform: in container mode every datum runs in the image; locally a
    datumBatching transform serves its own datums, a plain `python3 script.py` runs warm, and
    anything else gets a process per datum."""
    if container:
        from pachlite.pps.executors.container import ContainerExecutor
        return ContainerExecutor
    from pachlite.pps.executors.served import BatchingExecutor, WarmExecutor
    if batching:
        return BatchingExecutor
    from pachlite.pps.executors.warm import python_script
    if python_script(transform.cmd, transform.stdin, transform.cwd):
        return WarmExecutor
    from pachlite.pps.executors.process import ProcessExecutor
    return ProcessExecutor
