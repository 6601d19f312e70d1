"""A job: one run of a pipeline over its input commits.

plan (pure, `plan.py`) → execute the datums that must run (`worker.py`, `batch.py`, or a
container) → merge outputs with the base job's kept outputs → one transaction that writes the
AUTO output commit, the job and its datum records. A failed job writes its records but no commit,
so the output branch keeps its last good head.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Callable, Iterator, Sequence

from . import datum as dm
from .errors import PachliteError
from .pfs import AUTO, PFS, new_id
from .plan import (DELETE, FAILED, RECOVERED, RUN, SKIP, SKIPPED, SUCCESS, BaseDatum, Plan,
                   Step, plan, plan_steps)
from .pyworker import WARM_VAR, python_script, warm_command
from .store import commits, datums, files, jobs, objects
from .store.datums import BYTES_IN, BYTES_OUT, ID, LOG_HASH
from .store.jobs import JobRow
from .worker import Outcome, Transform, kill_running, process_datum, reap, start_process

# Job states, as Pachyderm names them (JOB_SUCCESS → "success").
CREATED, RUNNING, JOB_SUCCESS, FAILURE, UNRUNNABLE, KILLED = (
    "created", "running", "success", "failure", "unrunnable", "killed")
BATCH_CHUNK = 256


@dataclass(frozen=True)
class JobInfo:
    id: str
    pipeline: str
    state: str
    reason: str
    output_commit: str | None
    created: float
    started: float | None
    finished: float | None
    processed: int
    skipped: int
    failed: int
    recovered: int
    total: int
    bytes_in: int
    bytes_out: int
    inputs: tuple[tuple[str, str, str], ...]

    @property
    def progress(self) -> str:
        s = f"{self.processed} + {self.skipped}"
        if self.recovered:
            s += f" + {self.recovered}"
        return f"{s} / {self.total}"

    @property
    def duration(self) -> float | None:
        return (self.finished - self.started) if self.finished and self.started else None


@dataclass(frozen=True)
class DatumInfo:
    job_id: str
    id: str
    state: str
    reason: str
    hash: str
    inputs: tuple[str, ...]  # repo@commit:/path
    outputs: tuple[tuple[str, str, int], ...]
    started: float | None
    duration: float | None
    source_job: str


def job_from_row(r: JobRow) -> JobInfo:
    return JobInfo(r.id, r.pipeline, r.state, r.reason, r.output_commit, r.created, r.started,
                   r.finished, r.processed, r.skipped, r.failed, r.recovered, r.total, r.bytes_in,
                   r.bytes_out, r.inputs)


def scratch_dir() -> Path:
    """Where datums are laid out: tmpfs when there is one, since datums are many small writes."""
    env = os.environ.get("PACHLITE_SCRATCH")
    if env:
        return Path(env)
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return shm / f"pachlite-{os.getuid()}"
    return Path(tempfile.gettempdir()) / f"pachlite-{os.getuid()}"


@contextlib.contextmanager
def pipeline_lock(pfs: PFS, pipeline: str):
    """One job of a pipeline at a time; other pipelines run concurrently."""
    d = pfs.store.root / "locks"
    d.mkdir(exist_ok=True)
    with open(d / f"{pipeline}.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def parse_duration(s: str | None) -> float | None:
    """protobuf Duration JSON ("1.5s") or Go durations ("1m30s") → seconds."""
    if not s:
        return None
    import re
    total, units = 0.0, {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)", s)
    if not parts or "".join(a + b for a, b in parts) != s:
        raise PachliteError(f"datumTimeout {s!r} is not a duration", "write it like '30s' or '5m'")
    for n, u in parts:
        total += float(n) * units[u]
    return total


class Job:
    """Runs one job of `spec` (normalised, with defaults) on the current heads of its inputs."""

    def __init__(self, pfs: PFS, spec: dict, salt: str, version: int, workers: int = 1,
                 runner: Callable | None = None, cwd: str | None = None,
                 progress: Callable[[str, int, int], None] | None = None):
        self.pfs, self.spec, self.salt, self.version = pfs, spec, salt, version
        self.progress = progress  # (pipeline, datums done, datums to run), as datums finish
        self._done = 0
        self._done_lock = threading.Lock()
        self._rows: dict[str, tuple[str, tuple]] = {}  # datum id → (state, its record)
        self._seq: dict[str, int] = {}
        self.name = spec["pipeline"]["name"]
        self.out_repo = self.name
        self.branch = spec.get("outputBranch", "master")
        self.workers = max(1, workers)
        self.runner = runner
        self.cwd = cwd
        self._listings: dict[tuple[str, str], dm.Listing] = {}
        self._spare: _BatchWorker | None = None  # a warm worker started with the job
        self._commits: dict[tuple[str, str], str] = {}

    # ---- inputs and plan -------------------------------------------------------------------

    def resolve(self, node: dict) -> dm.Listing:
        repo, branch = node["repo"], node.get("branch") or "master"
        key = (repo, branch)
        if key not in self._listings:
            c = self.commit_of(node)
            files = [dm.FileInfo(p, h, s) for p, h, s in self.pfs.files(c)]
            self._listings[key] = dm.Listing(repo, branch, c, files)
        return self._listings[key]

    def commit_of(self, node: dict) -> str:
        """The commit a pfs input reads (its branch's head when the job was set up)."""
        key = (node["repo"], node.get("branch") or "master")
        if key not in self._commits:
            from .address import Address
            self._commits[key] = self.pfs.resolve(Address(*key)).id
        return self._commits[key]

    def input_commits(self) -> list[tuple[str, str, str]]:
        from .spec import pfs_inputs
        out = []
        for node in pfs_inputs(self.spec["input"]):
            c = (node["repo"], node.get("branch") or "master", self.commit_of(node))
            if c not in out:
                out.append(c)
        return out

    def base_job(self) -> JobInfo | None:
        r = jobs.latest(self.pfs.store, self.name, state=JOB_SUCCESS)
        return job_from_row(r) if r else None

    def base_datums(self, base: JobInfo | None) -> dict[str, BaseDatum]:
        if base is None:
            return {}
        return datums.base_records(self.pfs.store, base.id, BaseDatum)

    def plan(self, full: bool = False) -> tuple[Plan, JobInfo | None]:
        """The datum plan against the base job. Unless `full` (what --dry-run shows: a step for
        every datum), unchanged datums may be carried without a step each (delta.py)."""
        base = self.base_job()
        no_skip = self.spec.get("reprocessSpec") == "every_job"
        if base is not None and not no_skip and not full:
            # Same pipeline version and salt as the base job: only what changed needs a look.
            row = jobs.get(self.pfs.store, base.id)
            if (row.pipeline_version, row.salt) == (self.version, self.salt):
                from .delta import delta_plan
                p = delta_plan(self.pfs, self.spec["input"], self.salt, base.id,
                               {(r, b): c for r, b, c in base.inputs},
                               {(r, b): c for r, b, c in self.input_commits()}, self.resolve)
                if p is not None:
                    return p, base
        datums = dm.datums(self.spec["input"], self.resolve)
        return plan(datums, self.salt, self.base_datums(base), no_skip=no_skip), base

    # ---- execution -------------------------------------------------------------------------

    def run(self, job_id: str | None = None) -> JobInfo:
        job_id = job_id or new_id()
        store = self.pfs.store
        inputs = self.input_commits()
        created = time.time()
        with store.transaction() as tx:
            jobs.insert(tx, job_id, self.name, self.version, self.salt, RUNNING, inputs,
                        created=created, started=created)
        try:
            self._prestart(job_id)
            # No garbage collection while the job runs: a full one walks the 10^6 objects of a
            # large plan and stops every thread feeding the workers; none of them form cycles.
            with dm.gc_paused():
                if self.base_job() is None:
                    # A first job runs every datum: workers start on the first ones while
                    # the plan is still making the rest.
                    count, made = dm.datum_stream(self.spec["input"], self.resolve)
                    feed = Feed(count, self._numbered(plan_steps(made, self.salt, {})))
                    outcomes = self._execute(job_id, feed)
                    p, base = feed.plan(), None
                else:
                    p, base = self.plan()
                    # Carried datums keep their base job's places; the listed ones come after them.
                    offset = datums.next_seq(store, base.id) if p.carried else 0
                    self._seq = {s.datum_id: i for i, s in enumerate(p.steps, start=offset)}
                    outcomes = self._execute(job_id, Feed.of(p.runs))
                self._finish(job_id, p, base, outcomes, inputs)
        except BaseException as e:
            reason = str(e) if isinstance(e, PachliteError) else f"{type(e).__name__}: {e}"
            with store.transaction() as tx:
                jobs.set_state(tx, job_id, KILLED if isinstance(e, KeyboardInterrupt) else FAILURE,
                               reason)
            raise
        finally:
            if self._spare is not None:  # nothing ran in it
                self._spare.close()
                self._spare = None
            shutil.rmtree(scratch_dir() / job_id, ignore_errors=True)  # every worker's /pfs
        return job_from_row(jobs.get(store, job_id))

    def _numbered(self, steps: Iterator[Step]) -> Iterator[Step]:
        for i, s in enumerate(steps):
            self._seq[s.datum_id] = i
            yield s

    def _task(self, job_id: str, step: Step, inline: dict[str, bytes]) -> tuple:
        files = []
        objects = str(self.pfs.store.objects_dir)
        for di in step.datum.inputs:
            for f in di.files:
                data = inline.get(f.hash)
                files.append((di.name + f.path, f.hash, data,
                              None if data is not None else f"{objects}/{f.hash[:2]}/{f.hash}"))
        return (step.datum_id, files, dm.datum_env(step.datum))

    def _inline(self, steps: Sequence[Step]) -> dict[str, bytes]:
        hashes = list({f.hash for s in steps for di in s.datum.inputs for f in di.files})
        return objects.inlined(self.pfs.store, hashes)

    def _base_env(self, job_id: str) -> dict[str, str]:
        # A container gets the worker pod's environment (Pachyderm's variables and transform.env),
        # never the host's; a local process inherits the host's, as any command would.
        env = {} if self.runner else dict(os.environ)
        env.update({"PACH_JOB_ID": job_id, "PACH_OUTPUT_COMMIT_ID": job_id,
                    "PPS_PIPELINE_NAME": self.name})
        for node in _pfs_nodes(self.spec["input"]):
            env[f"{node.get('name') or node['repo']}_COMMIT"] = self.commit_of(node)
        if self.runner:
            return env
        # Stage programs and pachlite.batch import from here, whichever python runs them.
        src = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        return env

    def _transform(self) -> tuple[Transform, bool, bool]:
        """The transform, whether one process per worker serves many datums (the user's own
        batching loop, or a warm interpreter for a plain Python script; otherwise, or in a
        container, one process per datum), and whether that process is a warm interpreter."""
        t = self.spec["transform"]
        transform = Transform.from_spec(t, parse_duration(self.spec.get("datumTimeout")), self.cwd)
        warm = self.runner is None and bool(python_script(transform.cmd, transform.stdin, self.cwd))
        batched = self.runner is None and (bool(t.get("datumBatching")) or warm)
        return transform, batched, warm and not t.get("datumBatching")

    def _prestart(self, job_id: str) -> None:
        """Start a first warm interpreter now, so that it is ready when the plan is: it only
        compiles the script until a datum comes, so a job with nothing to run loses nothing."""
        transform, batched, warm = self._transform()
        if not warm:
            return
        root = scratch_dir() / job_id / f"worker-first-{time.monotonic_ns()}"
        try:
            root.mkdir(parents=True)
            self._spare = _BatchWorker(transform, self._base_env(job_id), root,
                                       self.pfs.store.objects_dir, warm)
        except (OSError, PachliteError):
            pass  # the job reports it if a datum needs the worker

    def _execute(self, job_id: str, feed: Feed) -> dict[str, tuple[str, Outcome, int]]:
        """Run every datum up to datumTries times; errCmd may recover one. → id: (state, outcome, tries)."""
        if not feed.total:
            return {}
        transform, batched, warm = self._transform()
        timeout = transform.timeout
        tries = int(self.spec.get("datumTries", 3))
        by_id: dict[str, Step] = {}

        def build(steps: Sequence[Step]) -> list[tuple]:
            # Tasks are made as workers ask for them, so the first datums run while the rest
            # are still being laid out as tasks.
            by_id.update((s.datum_id, s) for s in steps)
            inline = self._inline(steps)
            return [self._task(job_id, s, inline) for s in steps]

        def final(did: str, state: str, o: Outcome) -> None:
            # Rows are made as results come in, while the workers run the next datums.
            self._rows[did] = (state, self._row(job_id, by_id[did], state, o))
        self._tick(0, feed.total)
        base_env = self._base_env(job_id)
        root = scratch_dir() / job_id
        root.mkdir(parents=True, exist_ok=True)
        objects = self.pfs.store.objects_dir
        stop = threading.Event()
        if batched:
            spare, self._spare = self._spare, None
            results = _run_batched(feed, build, transform, base_env, root, objects,
                                   self.workers, tries, stop, warm=warm,
                                   tick=lambda n: self._tick(n, feed.total), final=final,
                                   spare=spare)
        else:
            results = self._run_each(feed, build, transform, base_env, root, objects, tries,
                                     stop)
        if transform.err_cmd:
            err_t = Transform(transform.err_cmd, transform.err_stdin, transform.env,
                              timeout=timeout, cwd=self.cwd, image=transform.image)
            for did, (state, o, n) in list(results.items()):
                if state == FAILED:
                    r = process_datum(build([by_id[did]])[0], root / f"err-{did[:16]}", err_t,
                                      base_env, objects, self.runner)
                    if r.ok:
                        results[did] = (RECOVERED, Outcome(did, True, f"recovered by errCmd after: "
                                                           f"{o.reason}", [], o.log + r.log,
                                                           o.started, o.duration), n)
        return results

    def _run_each(self, feed, build, transform, base_env, root, objects, tries, stop):
        def one(i_step):
            i, step = i_step
            [task] = build([step])
            logs = []
            for n in range(1, tries + 1):
                o = process_datum(task, root / f"{i}-{n}", transform, base_env, objects, self.runner)
                logs.append(o.log)
                if o.ok or stop.is_set():
                    break
            o.log = b"".join(logs)  # every try's output: the first failure is often the telling one
            self._tick(1, feed.total)
            return task[0], (SUCCESS if o.ok else FAILED, o, n)
        return dict(_pool_map(one, enumerate(feed), self.workers, stop))

    def _tick(self, n: int, total: int) -> None:
        if self.progress is not None:
            with self._done_lock:
                self._done += n
                self.progress(self.name, self._done, total)

    # ---- commit ----------------------------------------------------------------------------

    def _finish(self, job_id: str, p: Plan, base: JobInfo | None,
                results: dict[str, tuple[str, Outcome, int]], inputs) -> None:
        store = self.pfs.store
        runs = p.runs
        failed = [s for s in runs if results[s.datum_id][0] == FAILED]
        states = collections.Counter(results[s.datum_id][0] for s in runs)
        counts = dict(processed=states[SUCCESS], skipped=p.count(SKIP), failed=len(failed),
                      recovered=states[RECOVERED], total=p.total)
        reason, state = "", JOB_SUCCESS
        changes: dict[str, tuple[str, int] | None] = {}
        objects: list[tuple[str, int, bytes | None]] = []
        if failed:
            state = FAILURE
            o = results[failed[0].datum_id][1]
            reason = f"datum {failed[0].datum_id} failed: {o.reason}"
        else:
            owner: dict[str, str] = {}
            for s in p.steps:
                if s.action == SKIP:
                    for path, _, _ in s.base.outputs:
                        owner[path] = s.datum_id
            for s in p.steps:
                if s.action in (RUN, DELETE) and s.base is not None:
                    for path, _, _ in s.base.outputs:
                        changes[path] = None
            new_paths = []
            for s in runs:
                for path, h, size, data in results[s.datum_id][1].outputs:
                    other = owner.setdefault(path, s.datum_id)
                    if other != s.datum_id and not reason:
                        reason = (f"duplicate path output by different datums ({path} from "
                                  f"{other} and {path} from {s.datum_id})")
                    changes[path] = (h, size)
                    objects.append((h, size, data))
                    new_paths.append((path, s.datum_id))
            if p.carried and base is not None and base.output_commit:
                # The carried datums' outputs are not in `owner`: ask the base output commit.
                removed = {path for s in p.steps if s.action in (RUN, DELETE) and s.base
                           for path, _, _ in s.base.outputs}
                reason = reason or self._carried_collision(base, new_paths, removed)
                owner = {path: d for path, d in owner.items() if path in changes}
            reason = reason or _path_collision(owner)
            if reason:
                state = FAILURE
        if state == JOB_SUCCESS and not runs:
            reason = "there were no datums to process" + (
                "" if p.total else " (the input matched no files)")
        rows = []
        for s in runs:
            st, o, n = results[s.datum_id]
            pre = self._rows.get(s.datum_id)
            rows.append(pre[1] if pre and pre[0] == st else self._row(job_id, s, st, o))
        bytes_in, bytes_out = sum(r[BYTES_IN] for r in rows), sum(r[BYTES_OUT] for r in rows)
        logs = []  # (hash, size, content) of each log: the rows hold their hashes
        for r in rows:
            if r[LOG_HASH]:
                log = results[r[ID]][1].log
                logs.append((r[LOG_HASH], len(log), log))
        rows.sort(key=lambda r: r[ID])  # in key order, SQLite appends instead of splitting pages
        with store.transaction() as tx:
            tx.put_objects(logs)
            datums.insert(tx, rows)
            # Skipped datums are the base job's rows, carried by SQL: a delta plan's are every
            # base datum it did not run or delete, in their places; a full plan's are its skips.
            if p.carried:
                datums.carry_except(tx, job_id, base.id, SKIPPED,
                                    [s.datum_id for s in p.steps if s.action != SKIP])
            elif p.count(SKIP):
                datums.carry(tx, job_id, base.id, SKIPPED,
                             [(s.datum_id, self._seq[s.datum_id]) for s in p.steps
                              if s.action == SKIP])
            out_commit = None
            if state == JOB_SUCCESS:
                out_commit = self.pfs.write_commit(
                    self.out_repo, self.branch, changes, objects, origin=AUTO,
                    description=f"output of job {job_id}", provenance=self._provenance(inputs),
                    copy_from=base.output_commit if base else None, commit_id=job_id,
                    check=False, tx=tx)
            jobs.finish(tx, job_id, state, reason, out_commit, bytes_in=bytes_in,
                        bytes_out=bytes_out, **counts)

    def _row(self, job_id: str, s: Step, state: str, o: Outcome) -> tuple:
        """A datum's record after it ran: the columns of store.datums.COLUMNS."""
        return (job_id, s.datum_id, s.hash, state, o.reason if state != SUCCESS else "",
                _inputs_json(s.datum), _outputs_json(o.outputs), o.started, o.duration,
                _hash(o.log) if o.log else None,
                sum(f.size for di in s.datum.inputs for f in di.files),
                sum(x[2] for x in o.outputs), job_id, self._seq[s.datum_id])

    def _carried_collision(self, base: JobInfo, new_paths, removed: set[str]) -> str:
        """Pachyderm's checks of a merged output, for new outputs against the outputs of datums
        carried over from the base job (what its output commit holds and this job keeps)."""
        store, commit = self.pfs.store, base.output_commit

        def kept(path: str) -> bool:
            return path not in removed and files.exists(store, commit, path)
        for path, did in new_paths:
            if kept(path):
                other = datums.output_owner(store, base.id, path)
                return (f"duplicate path output by different datums ({path} from "
                        f"{other or '?'} and {path} from {did})")
            d = path.rsplit("/", 1)[0]
            while d:
                if kept(d):
                    return f"file / directory path collision ({path})"
                d = d.rsplit("/", 1)[0]
            clash = next((p for p in files.paths_below(store, commit, path) if p not in removed),
                         None)
            if clash:
                return f"file / directory path collision ({clash})"
        return ""

    def _provenance(self, inputs) -> list[tuple[str, str | None, str]]:
        """The input commits and, transitively, what they were computed from."""
        out = list(inputs)
        for repo, branch, commit in inputs:
            out += commits.provenance(self.pfs.store, commit)
        seen, uniq = set(), []
        for repo, branch, commit in out:
            if commit not in seen:
                seen.add(commit)
                uniq.append((repo, branch, commit))
        return uniq


class Feed:
    """The steps a job runs, as its plan makes them: a thread makes the steps while the workers
    take the first ones. A plan made beforehand is a feed with every step ready (Feed.of)."""

    def __init__(self, total: int, steps: Iterator[Step] | None = None):
        self.total = total                 # how many steps run
        self.left = total                  # how many are not yet taken
        self.steps: list[Step] = []        # every step made so far, in plan order (streamed)
        self.error: BaseException | None = None
        self._ready: collections.deque[Step] = collections.deque()
        self._cond = threading.Condition()
        self._done = steps is None
        self._thread = None
        if steps is not None:
            self._thread = threading.Thread(target=self._make, args=(steps,), daemon=True)
            self._thread.start()

    @classmethod
    def of(cls, runs: Sequence[Step]) -> "Feed":
        feed = cls(len(runs))
        feed._ready.extend(runs)
        return feed

    def _make(self, steps: Iterator[Step]) -> None:
        ready: list[Step] = []
        try:
            for s in steps:
                self.steps.append(s)
                if s.action == RUN:
                    ready.append(s)
                    if len(ready) == 64:  # handed over in groups: one wake-up, not 64
                        with self._cond:
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
            return taken

    def __iter__(self) -> Iterator[Step]:
        while batch := self.take(64):
            yield from batch

    def plan(self) -> Plan:
        if self._thread is not None:
            self._thread.join()
        if self.error is not None:
            raise self.error
        return Plan(tuple(self.steps))


def _path_collision(paths) -> str:
    """Pachyderm's check of a merged output: no path may be both a file and a directory."""
    ordered = sorted(paths, key=lambda p: p.replace("/", "\x00"))  # a path's subtree follows it
    for a, b in zip(ordered, ordered[1:]):
        if b.startswith(a + "/"):
            return f"file / directory path collision ({b})"
    return ""


def _pool_map(fn, items, workers: int, stop: threading.Event) -> list:
    """ex.map, except that an interrupted job (Ctrl-C) kills the datums still running and
    starts no more, instead of waiting for every queued datum to finish."""
    ex = ThreadPoolExecutor(workers)
    try:
        return list(ex.map(fn, items))
    except BaseException:
        stop.set()
        kill_running()
        raise
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


def _hash(b: bytes) -> str:
    from .store import hash_bytes
    return hash_bytes(b)


# JSON of a datum's inputs and outputs, built from json's own string encoder: the same text as
# json.dumps, at a fraction of its per-call cost (a job writes 10^5 of each).
_STR = json.encoder.encode_basestring_ascii


def _inputs_json(d: dm.Datum) -> str:
    return "[" + ", ".join(f"[{_STR(i.name)}, {_STR(i.repo)}, {_STR(i.branch)}, {_STR(i.path)}]"
                           for i in d.inputs) + "]"


def _outputs_json(outputs) -> str:
    return "[" + ", ".join(f"[{_STR(path)}, {_STR(h)}, {size}]" for path, h, size, *_ in outputs) + "]"


def _pfs_nodes(node: dict):
    from .spec import pfs_inputs
    return pfs_inputs(node)


# ---- one user process per worker serves many datums --------------------------------------------

class _BatchWorker:
    """A datum-batching user process (`pachlite.batch`), or with warm=True the transform's Python
    interpreter running `pachlite.pyworker`; both serve task lists over a socket."""

    def __init__(self, t: Transform, base_env: dict, root: Path, objects: Path, warm: bool):
        from .batch import FD_VAR, OBJECTS_VAR, ROOT_VAR
        pfs_root = root / "pfs"
        (pfs_root / "out").mkdir(parents=True, exist_ok=True)
        local = t.mapped(str(pfs_root))
        parent, child = socket.socketpair()
        env = {**base_env, **local.env, FD_VAR: str(child.fileno()), ROOT_VAR: str(pfs_root),
               OBJECTS_VAR: str(objects)}
        self.warm = warm
        cmd = warm_command(local.cmd, t.accept) if warm else local.cmd
        self.log = open(root / "worker.log", "w+b")
        try:
            self.proc = start_process(cmd, stdin=subprocess.PIPE, stdout=self.log,
                                      stderr=subprocess.STDOUT, env=env, cwd=t.cwd,
                                      pass_fds=[child.fileno()])
        except OSError as e:
            raise PachliteError(f"cannot start transform.cmd {list(t.cmd)}: {e}",
                                "check the command exists and is executable") from None
        child.close()
        if local.stdin:
            self.proc.stdin.write(local.stdin.encode())
        self.proc.stdin.close()
        self.conn = Connection(parent.detach())
        self.timeout = t.timeout
        self._sender: threading.Thread | None = None

    def post(self, tasks: list) -> None:
        """Send a batch without waiting: the worker may still be writing the last one's results,
        which the caller must be free to read (a blocking send could deadlock with it)."""
        if self._sender is not None:
            self._sender.join()
        self._sender = threading.Thread(target=self._send, args=(tasks,), daemon=True)
        self._sender.start()

    def _send(self, tasks: list) -> None:
        with contextlib.suppress(OSError):  # a dead worker shows up when its results are read
            self.conn.send(tasks)

    def receive(self, tasks: list) -> tuple[list[Outcome], bool]:
        """The outcomes of the oldest batch posted, and whether the worker is gone (crashed or
        killed at the timeout): then any later batch posted to it never ran."""
        try:
            limit = self.timeout * len(tasks) if self.timeout else None
            if not self.conn.poll(limit):
                reap(self.proc, kill=True)
                self.proc.wait()
                why = f"timed out after {self.timeout:g}s"
                return [Outcome(t[0], False, why) for t in tasks], True
            return self.conn.recv(), False
        except (EOFError, OSError):
            code = self.proc.wait()
            self.log.seek(0)
            tail = self.log.read().decode(errors="replace").strip().splitlines()[-3:]
            fix = (f"set {WARM_VAR}=0 to run one process per datum" if self.warm
                   else "wrap the per-datum code with pachlite.batch.batch_all_datums")
            why = (f"the {'Python' if self.warm else 'batching'} worker exited with code {code} "
                   f"before serving its datums" + (f": {' | '.join(tail)}" if tail else "")
                   + f"; {fix}")
            return [Outcome(t[0], False, why, log=("\n".join(tail)).encode()) for t in tasks], True

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self._sender is not None:
            self._sender.join()
        with contextlib.suppress(Exception):
            self.conn.send(None)
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=10)
        reap(self.proc, kill=self.proc.poll() is None)
        self.conn.close()
        self.log.close()


def _run_batched(feed: Feed, build, t: Transform, base_env, root: Path, objects: Path,
                 workers: int, tries: int, stop: threading.Event, warm: bool,
                 tick: Callable[[int], None], final: Callable[[str, str, Outcome], None],
                 spare: _BatchWorker | None = None):
    results: dict[str, tuple[str, Outcome, int]] = {}
    attempts: dict[str, int] = {}
    # What runs before the feed's next steps: tasks of datums to try again, and [task] lists,
    # batches to send as they are (a batch that went back unstarted, or a datum to run alone).
    queue: collections.deque = collections.deque()
    lock = threading.Lock()
    # A datumTimeout is timed per message: one datum per message keeps it per datum. Otherwise a
    # worker holds the next batch while its last results travel back and are recorded, so it
    # never waits on this process.
    chunk = 1 if t.timeout else max(1, min(BATCH_CHUNK, feed.total // (workers * 4) or 1))
    depth = 1 if t.timeout else 2
    served = threading.Event()
    spares = [spare] if spare is not None else []

    def take() -> list | None:
        if stop.is_set():
            return None
        with lock:
            if queue and isinstance(queue[0], list):
                return queue.popleft()
            if queue:  # datums to try again, batched like fresh ones
                batch = []
                while queue and len(batch) < chunk and not isinstance(queue[0], list):
                    batch.append(queue.popleft())
                return batch
        # Smaller batches at the end, so that no worker sits idle while another has two to go.
        fresh = feed.take(max(1, min(chunk, feed.left // (2 * workers))))
        return build(fresh) if fresh else None

    def serve(w: int) -> None:
        worker = None
        inflight: collections.deque[list] = collections.deque()
        try:
            while True:
                while len(inflight) < depth and (batch := take()) is not None:
                    if worker is not None and not inflight and not worker.alive:
                        worker.close()  # it ended between batches (e.g. its program returned)
                        worker = None
                    if worker is None:
                        with lock:
                            worker = spares.pop() if spares else None
                    if worker is None:
                        wroot = root / f"worker-{w}-{time.monotonic_ns()}"
                        wroot.mkdir(parents=True)
                        worker = _BatchWorker(t, base_env, wroot, objects, warm)
                    worker.post(batch)
                    inflight.append(batch)
                if not inflight:
                    return
                batch = inflight.popleft()
                outcomes, gone = worker.receive(batch)
                if not gone:
                    served.set()
                elif len(batch) > 1 and served.is_set():
                    # Which datum took the worker down is unknown: each runs again alone, and
                    # this does not count as a try of any of them. (Not while no worker has
                    # served a batch yet: a program that never serves fails every datum fast.)
                    with lock:
                        queue.extendleft([task] for task in reversed(batch))
                    outcomes = []
                by_id = {task[0]: task for task in batch}
                finished = 0
                for o in outcomes:
                    with lock:
                        n = attempts[o.datum_id] = attempts.get(o.datum_id, 0) + 1
                        if o.ok:
                            results[o.datum_id] = (SUCCESS, o, n)
                        elif n < tries:
                            queue.append(by_id[o.datum_id])
                            continue
                        else:
                            results[o.datum_id] = (FAILED, o, n)
                    final(o.datum_id, results[o.datum_id][0], o)
                    finished += 1
                tick(finished)
                if gone:  # batches posted after the fatal one never started: not a try either
                    with lock:
                        queue.extendleft(reversed(inflight))
                    inflight.clear()
                    worker.close()
                    worker = None
        finally:
            if worker is not None:
                worker.close()

    try:
        _pool_map(serve, range(workers), workers, stop)
    finally:
        for worker in spares:
            worker.close()
    return results
