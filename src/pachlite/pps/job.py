"""A job: one run of a pipeline over its input commits.

plan (pure: plan.py, delta.py) → run the datums that must run (an executor of executors/) →
merge outputs with the base job's kept outputs (merge.py) → one transaction that writes the AUTO
output commit, the job and its datum records. A failed job writes its records but no commit, so
the output branch keeps its last good head.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, Sequence

from pachlite.errors import PachliteError
from pachlite.pfs import AUTO, PFS, new_id
from pachlite.pps import datum as dm
from pachlite.pps import executors
from pachlite.pps.executors.base import Executor, Outcome, Result, Setup, Transform
from pachlite.pps.feed import Feed
from pachlite.pps.info import JobInfo, job_from_row
from pachlite.pps.merge import merge
from pachlite.pps.plan import BaseDatum, Plan, Step, plan, plan_steps
from pachlite.pps.spec import PipelineSpec
from pachlite.pps.states import Action, DatumState, JobState
from pachlite.store import commits, datums, files, hash_bytes, jobs, objects
from pachlite.store.datums import BYTES_IN, BYTES_OUT, ID, LOG_HASH


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


class Job:
    """Runs one job of a pipeline on the current heads of its inputs."""

    def __init__(self, pfs: PFS, spec: PipelineSpec, salt: str, version: int, workers: int = 1,
                 container: bool = False, cwd: str | None = None,
                 progress: Callable[[str, int, int], None] | None = None):
        self.pfs, self.spec, self.salt, self.version = pfs, spec, salt, version
        self.progress = progress  # (pipeline, datums done, datums to run), as datums finish
        self._done = 0
        self._done_lock = threading.Lock()
        self._rows: dict[str, tuple[str, tuple]] = {}  # datum id → (state, its record)
        self._seq: dict[str, int] = {}
        self.name = spec.name
        self.out_repo = self.name
        self.branch = spec.output_branch
        self.workers = max(1, workers)
        self.container = container
        self.cwd = cwd
        self._listings: dict[tuple[str, str], dm.Listing] = {}
        self._commits: dict[tuple[str, str], str] = {}

    # ---- inputs and plan -------------------------------------------------------------------

    def resolve(self, node: dict) -> dm.Listing:
        repo, branch = node["repo"], node["branch"]
        key = (repo, branch)
        if key not in self._listings:
            c = self.commit_of(node)
            files = [dm.FileInfo(p, h, s) for p, h, s in self.pfs.files(c)]
            self._listings[key] = dm.Listing(repo, branch, c, files)
        return self._listings[key]

    def commit_of(self, node: dict) -> str:
        """The commit a pfs input reads (its branch's head when the job was set up)."""
        key = (node["repo"], node["branch"])
        if key not in self._commits:
            from pachlite.pfs.address import Address
            self._commits[key] = self.pfs.resolve(Address(*key)).id
        return self._commits[key]

    def input_commits(self) -> list[tuple[str, str, str]]:
        out = []
        for node in self.spec.pfs_inputs:
            c = (node["repo"], node["branch"], self.commit_of(node))
            if c not in out:
                out.append(c)
        return out

    def base_job(self) -> JobInfo | None:
        r = jobs.latest(self.pfs.store, self.name, state=JobState.SUCCESS)
        return job_from_row(r) if r else None

    def base_datums(self, base: JobInfo | None) -> dict[str, BaseDatum]:
        if base is None:
            return {}
        return datums.base_records(self.pfs.store, base.id, BaseDatum)

    def plan(self, full: bool = False) -> tuple[Plan, JobInfo | None]:
        """The datum plan against the base job. Unless `full` (what --dry-run shows: a step for
        every datum), unchanged datums may be carried without a step each (delta.py)."""
        base = self.base_job()
        no_skip = self.spec.every_job
        if base is not None and not no_skip and not full:
            # Same pipeline version and salt as the base job: only what changed needs a look.
            row = jobs.get(self.pfs.store, base.id)
            if (row.pipeline_version, row.salt) == (self.version, self.salt):
                from pachlite.pps.delta import delta_plan
                p = delta_plan(self.pfs, self.spec.input, self.salt, base.id,
                               {(r, b): c for r, b, c in base.inputs},
                               {(r, b): c for r, b, c in self.input_commits()}, self.resolve)
                if p is not None:
                    return p, base
        datums = dm.datums(self.spec.input, self.resolve)
        return plan(datums, self.salt, self.base_datums(base), no_skip=no_skip), base

    # ---- execution -------------------------------------------------------------------------

    def run(self, job_id: str | None = None) -> JobInfo:
        job_id = job_id or new_id()
        store = self.pfs.store
        inputs = self.input_commits()
        created = time.time()
        with store.transaction() as tx:
            jobs.insert(tx, job_id, self.name, self.version, self.salt, JobState.RUNNING, inputs,
                        created=created, started=created)
        executor = None
        try:
            # Made now, so a warm interpreter starts while the plan is made.
            executor = self._executor(job_id)
            # No garbage collection while the job runs: a full one walks the 10^6 objects of a
            # large plan and stops every thread feeding the workers; none of them form cycles.
            with dm.gc_paused():
                if self.base_job() is None:
                    # A first job runs every datum: workers start on the first ones while
                    # the plan is still making the rest.
                    count, made = dm.datum_stream(self.spec.input, self.resolve)
                    feed = Feed(count, self._numbered(plan_steps(made, self.salt, {})))
                    outcomes = self._run_datums(executor, job_id, feed)
                    p, base = feed.plan(), None
                else:
                    p, base = self.plan()
                    # Carried datums keep their base job's places; the listed ones come after them.
                    offset = datums.next_seq(store, base.id) if p.carried else 0
                    self._seq = {s.datum_id: i for i, s in enumerate(p.steps, start=offset)}
                    outcomes = self._run_datums(executor, job_id, Feed.of(p.runs))
                self._finish(job_id, p, base, outcomes, inputs)
        except BaseException as e:
            reason = str(e) if isinstance(e, PachliteError) else f"{type(e).__name__}: {e}"
            with store.transaction() as tx:
                jobs.set_state(tx, job_id,
                               JobState.KILLED if isinstance(e, KeyboardInterrupt) else JobState.FAILURE,
                               reason)
            raise
        finally:
            if executor is not None:
                executor.close()
            shutil.rmtree(scratch_dir() / job_id, ignore_errors=True)  # every worker's /pfs
        return job_from_row(jobs.get(store, job_id))

    def _numbered(self, steps: Iterator[Step]) -> Iterator[Step]:
        for i, s in enumerate(steps):
            self._seq[s.datum_id] = i
            yield s

    def _task(self, step: Step, inline: dict[str, bytes]) -> tuple:
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

    def _pachyderm_env(self, job_id: str) -> dict[str, str]:
        """The variables a Pachyderm worker sets for user code."""
        env = {"PACH_JOB_ID": job_id, "PACH_OUTPUT_COMMIT_ID": job_id, "PPS_PIPELINE_NAME": self.name}
        for node in self.spec.pfs_inputs:
            env[f"{node['name']}_COMMIT"] = self.commit_of(node)
        return env

    def _executor(self, job_id: str) -> Executor:
        transform = Transform.from_spec(self.spec.transform, self.spec.datum_timeout, self.cwd)
        kind = executors.select(transform, self.spec.datum_batching, self.container)
        setup = Setup(transform, kind.environment(self._pachyderm_env(job_id)), scratch_dir() / job_id,
                      self.pfs.store.objects_dir, self.workers, self.spec.datum_tries)
        return kind(setup)

    def _run_datums(self, executor: Executor, job_id: str, feed: Feed) -> dict[str, Result]:
        """Run every datum up to datumTries times; errCmd may recover one. → id: (state, outcome, tries)."""
        if not feed.total:
            return {}
        by_id: dict[str, Step] = {}

        def build(steps: Sequence[Step]) -> list[tuple]:
            # Tasks are made as workers ask for them, so the first datums run while the rest
            # are still being laid out as tasks.
            by_id.update((s.datum_id, s) for s in steps)
            inline = self._inline(steps)
            return [self._task(s, inline) for s in steps]

        def final(did: str, state: DatumState, o: Outcome) -> None:
            # Rows are made as results come in, while the workers run the next datums.
            self._rows[did] = (state, self._row(job_id, by_id[did], state, o))
        self._tick(0, feed.total)
        executor.setup.root.mkdir(parents=True, exist_ok=True)
        results = executor.run(feed, build, final, lambda n: self._tick(n, feed.total))
        t = executor.setup.transform
        if t.err_cmd:
            err_t = Transform(t.err_cmd, t.err_stdin, t.env, timeout=t.timeout, cwd=t.cwd,
                              image=t.image)
            for did, (state, o, n) in list(results.items()):
                if state == DatumState.FAILED:
                    r = executor.run_alone(build([by_id[did]])[0],
                                           executor.setup.root / f"err-{did[:16]}", err_t)
                    if r.ok:
                        results[did] = (DatumState.RECOVERED,
                                        Outcome(did, True, f"recovered by errCmd after: {o.reason}",
                                                [], o.log + r.log, o.started, o.duration), n)
        return results

    def _tick(self, n: int, total: int) -> None:
        if self.progress is not None:
            with self._done_lock:
                self._done += n
                self.progress(self.name, self._done, total)

    def _finish(self, job_id: str, p: Plan, base: JobInfo | None, results: dict[str, Result],
                inputs) -> None:
        store = self.pfs.store
        runs = p.runs
        failed = [s for s in runs if results[s.datum_id][0] == DatumState.FAILED]
        states = collections.Counter(results[s.datum_id][0] for s in runs)
        counts = dict(processed=states[DatumState.SUCCESS], skipped=p.count(Action.SKIP),
                      failed=len(failed), recovered=states[DatumState.RECOVERED], total=p.total)
        state = JobState.SUCCESS
        if failed:
            state = JobState.FAILURE
            reason = f"datum {failed[0].datum_id} failed: {results[failed[0].datum_id][1].reason}"
            merged = None
        else:
            clash = (lambda paths, removed: self._carried_collision(base, paths, removed)) \
                if base is not None and base.output_commit else None
            merged = merge(p, results, clash)
            reason = merged.reason
            if reason:
                state = JobState.FAILURE
        if state == JobState.SUCCESS and not runs:
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
                datums.carry_except(tx, job_id, base.id, DatumState.SKIPPED,
                                    [s.datum_id for s in p.steps if s.action != Action.SKIP])
            elif p.count(Action.SKIP):
                datums.carry(tx, job_id, base.id, DatumState.SKIPPED,
                             [(s.datum_id, self._seq[s.datum_id]) for s in p.steps
                              if s.action == Action.SKIP])
            out_commit = None
            if state == JobState.SUCCESS:
                out_commit = self.pfs.write_commit(
                    self.out_repo, self.branch, merged.changes, merged.objects, origin=AUTO,
                    description=f"output of job {job_id}", provenance=self._provenance(inputs),
                    copy_from=base.output_commit if base else None, commit_id=job_id,
                    check=False, tx=tx)
            jobs.finish(tx, job_id, state, reason, out_commit, bytes_in=bytes_in,
                        bytes_out=bytes_out, **counts)

    def _row(self, job_id: str, s: Step, state: str, o: Outcome) -> tuple:
        """A datum's record after it ran: the columns of store.datums.COLUMNS."""
        return (job_id, s.datum_id, s.hash, state, o.reason if state != DatumState.SUCCESS else "",
                _inputs_json(s.datum), _outputs_json(o.outputs), o.started, o.duration,
                hash_bytes(o.log) if o.log else None,
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


# JSON of a datum's inputs and outputs, built from json's own string encoder: the same text as
# json.dumps, at a fraction of its per-call cost (a job writes 10^5 of each).
_STR = json.encoder.encode_basestring_ascii


def _inputs_json(d: dm.Datum) -> str:
    return "[" + ", ".join(f"[{_STR(i.name)}, {_STR(i.repo)}, {_STR(i.branch)}, {_STR(i.path)}]"
                           for i in d.inputs) + "]"


def _outputs_json(outputs) -> str:
    return "[" + ", ".join(f"[{_STR(path)}, {_STR(h)}, {size}]" for path, h, size, *_ in outputs) + "]"
