"""A job: one run of a pipeline over its input commits.

plan (pure: plan.py, delta.py) → run the datums that must run (an executor of executors/) →
merge outputs with the base job's kept outputs (merge.py) → one transaction that writes the AUTO
output commit, the job and its datum records.

A job runs for a commit set: its id (PACH_JOB_ID) is the set's, and so is its output commit's. As
pachd's FinishJob, a failed or unrunnable job's output commit is finished with the job's reason
as its error: the output branch's head is then that errored commit, whose parent (`^`) leads back
to the last good output. A killed job writes no output commit (it runs again, in its set).

This module is long because a job's two endings live beside the run they end: a planned job's
(_finish: merged in Python, its plan holds the steps) and a first job's, whose plan was streamed
and whose output commit is the layer its records staged as they were written (_finish_first).
"""

from __future__ import annotations

import collections
import dataclasses
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from pachlite.errors import PachliteError
from pachlite.pfs import AUTO, PFS, new_id
from pachlite.pps import datum as dm, executors, images, secrets
from pachlite.pps.deadline import JOB_TIMED_OUT, Deadline
from pachlite.pps.executors.base import Executor, Outcome, Result, Setup, Transform
from pachlite.pps.executors.jobdir import job_scratch
from pachlite.pps.feed import Feed
from pachlite.pps.info import JobInfo, job_from_row
from pachlite.pps.merge import carried_collision, merge
from pachlite.pps.plan import BaseDatum, Plan, Step, plan, plan_steps, resume, retried
from pachlite.pps.records import DatumRecords
from pachlite.pps.retry import failed_datums
from pachlite.pps.spec import PipelineSpec
from pachlite.pps.states import Action, DatumState, JobState
from pachlite.store import commits, datums, files, jobs, objects, staged
from pachlite.store.datums import ID, LOG_HASH


class Job:
    """Runs one job of a pipeline on the current heads of its inputs."""

    def __init__(self, pfs: PFS, spec: PipelineSpec, salt: str, version: int, workers: int = 1,
                 container: bool = False, cwd: str | None = None,
                 progress: Callable[[str, int, int], None] | None = None, *,
                 commit_set: str | None = None, inputs: dict[tuple[str, str], str] | None = None):
        self.pfs, self.spec, self.salt, self.version = pfs, spec, salt, version
        self.progress = progress  # (pipeline, datums done, datums to run), as datums finish
        self._done = 0
        self._done_lock = threading.Lock()
        self._seq: dict[str, int] = {}
        self.records: DatumRecords | None = None
        self.name = spec.name
        self.out_repo = self.name
        self.branch = spec.output_branch
        self.workers = max(1, workers)
        self.container = container
        self.cwd = cwd
        self.image: images.Layout | None = None  # what pachlite-images.yaml maps, once run() asks
        self._listings: dict[tuple[str, str], dm.Listing] = {}
        # (repo, branch) → the key of the commit read: given (a commit set's), or the heads.
        self._commits: dict[tuple[str, str], str] = dict(inputs or {})
        self.commit_set = commit_set  # None: a set of its own (the job's key)
        self.deadline = Deadline(spec.job_timeout)

    # ---- inputs and plan -------------------------------------------------------------------

    def resolve(self, node: dict) -> dm.Listing:
        repo, branch = node["repo"], node["branch"]
        key = (repo, branch)
        if key not in self._listings:
            c = self.commit_of(node)
            files = [dm.FileInfo(p, h, s) for p, h, s in self.pfs.files(c)]
            # The commit user code is told of (<input>_COMMIT) is its id as pachd shows it.
            self._listings[key] = dm.Listing(repo, branch, self.pfs.commit_id(c), files)
        return self._listings[key]

    def commit_of(self, node: dict) -> str:
        """The commit a pfs input reads (its branch's head when the job was set up)."""
        key = (node["repo"], node["branch"])
        if key not in self._commits:
            from pachlite.pfs.address import Address
            self._commits[key] = self.pfs.resolve(Address(*key)).key
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
        return datums.base_records(self.pfs.store, base.key, BaseDatum)

    def killed_datums(self) -> dict[str, BaseDatum]:
        """id → record of each datum that a job killed since the last successful one finished, at
        this pipeline version and salt, whose outputs are still stored (the newest job's wins).
        A job still marked running is one whose process died (we hold the pipeline's lock): the
        next run marks it killed, and --dry-run shows what that run will do."""
        store = self.pfs.store
        found: dict[str, BaseDatum] = {}
        for j in jobs.list_jobs(store, self.name):  # newest first
            if j.state == JobState.SUCCESS:
                break
            if j.state not in (JobState.KILLED, JobState.RUNNING) or \
                    (j.pipeline_version, j.salt) != (self.version, self.salt):
                continue
            for did, b in datums.base_records(store, j.id, BaseDatum).items():
                if b.state == DatumState.SUCCESS and did not in found and self._stored(b.outputs):
                    found[did] = b
        return found

    def _stored(self, outputs) -> bool:
        store = self.pfs.store
        for _, h, _ in outputs:
            found, data = objects.lookup(store, h)
            if not found or (data is None and not store.object_path(h).exists()):
                return False
        return True

    def plan(self, full: bool = False,
             finished: dict[str, BaseDatum] | None = None) -> tuple[Plan, JobInfo | None]:
        """The datum plan against the base job, skipping what a killed job finished (`finished`,
        killed_datums() unless given). Unless `full` (what --dry-run shows: a step for every
        datum), unchanged datums may be carried without a step each (delta.py)."""
        p, base = self._plan(full)
        p = resume(p, self.killed_datums() if finished is None else finished)
        return (retried(p, failed_datums(self.pfs.store, self.name)) if full else p), base

    def _plan(self, full: bool) -> tuple[Plan, JobInfo | None]:
        base = self.base_job()
        no_skip = self.spec.every_job
        if base is not None and not no_skip and not full:
            # Same pipeline version and salt as the base job: only what changed needs a look.
            row = jobs.get(self.pfs.store, base.key)
            if (row.pipeline_version, row.salt) == (self.version, self.salt):
                from pachlite.pps.delta import delta_plan
                p = delta_plan(self.pfs, self.spec.input, self.salt, base.key,
                               {(r, b): c for r, b, c in base.inputs},
                               {(r, b): c for r, b, c in self.input_commits()}, self.resolve)
                if p is not None:
                    return p, base
        datums = dm.datums(self.spec.input, self.resolve)
        return plan(datums, self.salt, self.base_datums(base), no_skip=no_skip), base

    # ---- execution -------------------------------------------------------------------------

    def run(self, job_id: str | None = None) -> JobInfo:
        job_id = job_id or new_id()  # the job's key, and its output commit's
        self.commit_set = self.commit_set or job_id
        store = self.pfs.store
        inputs = self.input_commits()
        finished = self.killed_datums()  # (before this job's record: it is running too)
        # Before the job's record: a mapped image this machine cannot run, or a refused scratch
        # folder, changes nothing.
        self.image = None if self.container else images.local(self.cwd, self.spec.transform.get("image"))
        root = job_scratch(job_id)
        created = time.time()
        try:
            with store.transaction() as tx:
                staged.drop_stale(tx)  # what a killed job (or put) staged
                jobs.insert(tx, job_id, self.name, self.version, self.salt, JobState.RUNNING,
                            inputs, created=created, started=created, commit_set=self.commit_set)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        executor = None
        self.records = None
        try:
            # Made now, so a warm interpreter starts while the plan is made.
            executor = self._executor(job_id, root)
            self.deadline.start(executor)
            # No garbage collection while the job runs: a full one walks the 10^6 objects of a
            # large plan and stops every thread feeding the workers; none of them form cycles.
            with dm.gc_paused():
                first = self.base_job() is None and not finished
                self.records = DatumRecords(store, job_id, self._seq, stage_outputs=first)
                if first:
                    # A first job runs every datum: workers start on the first ones while
                    # the plan is still making the rest.
                    # Nothing of a datum is held once it ran: its record and outputs are in
                    # the store, its outputs in the layer the output commit takes (_finish_first).
                    count, made = dm.datum_stream(self.spec.input, self.resolve)
                    feed = Feed(count, self._numbered(plan_steps(made, self.salt, {})))
                    try:
                        outcomes = self._run_datums(executor, job_id, feed, keep=False)
                    finally:
                        feed.close()
                    feed.wait()
                    self.deadline.check()
                    self._finish_first(job_id, count, outcomes, inputs)
                else:
                    p, base = self.plan(finished=finished)
                    # Carried datums keep their base job's places; the listed ones come after them.
                    offset = datums.next_seq(store, base.key) if p.carried else 0
                    self._seq.update((s.datum_id, i) for i, s in enumerate(p.steps, start=offset))
                    outcomes = self._run_datums(executor, job_id, Feed.of(p.runs), keep=True)
                    self.deadline.check()
                    self._finish(job_id, p, base, outcomes, inputs)
        except BaseException as e:
            timed_out = self.deadline.expired.is_set()  # the job fails, as on pachd
            killed = isinstance(e, KeyboardInterrupt) and not timed_out
            reason = JOB_TIMED_OUT if timed_out else (f"the job was stopped ({e or 'interrupted'})" if killed else
                      str(e) if isinstance(e, PachliteError) else f"{type(e).__name__}: {e}")
            with store.transaction() as tx:
                if killed and self.records is not None:  # kept: the next run does not run it again
                    self.records.write_pending(tx)
                if self.records is not None:
                    self.records.drop_outputs(tx)
                jobs.set_state(tx, job_id, JobState.KILLED if killed else JobState.FAILURE, reason)
                if not killed:
                    jobs.set_output(tx, job_id, self.errored_commit(tx, job_id, inputs, reason))
            if not timed_out:
                raise
        finally:
            self.deadline.cancel()
            if executor is not None:
                executor.close()
            shutil.rmtree(root, ignore_errors=True)  # every worker's /pfs
        return job_from_row(jobs.get(store, job_id))

    def unrunnable(self, reason: str) -> JobInfo:
        """Record the job as unrunnable (an input's job failed), with its errored output commit."""
        job_id = new_id()
        self.commit_set = self.commit_set or job_id
        inputs, now = self.input_commits(), time.time()
        with self.pfs.store.transaction() as tx:
            jobs.insert(tx, job_id, self.name, self.version, self.salt, JobState.UNRUNNABLE,
                        inputs, created=now, started=now, finished=now, reason=reason,
                        commit_set=self.commit_set)
            jobs.set_output(tx, job_id, self.errored_commit(tx, job_id, inputs, reason))
        return job_from_row(jobs.get(self.pfs.store, job_id))

    def _numbered(self, steps: Iterator[Step]) -> Iterator[Step]:
        for i, s in enumerate(steps):
            self._seq[s.datum_id] = i
            yield s

    def _task(self, step: Step, inline: dict[str, bytes], objects: str) -> tuple:
        files = []
        for di in step.datum.inputs:
            for f in di.files:
                if di.empty_files:  # a 0-byte file; a link to it in /pfs/out is the real content
                    files.append((di.name + f.path, "empty", b"", (f.hash, f.size, inline.get(f.hash))))
                    continue
                data = inline.get(f.hash)
                files.append((di.name + f.path, f.hash, data,
                              None if data is not None else f"{objects}/{f.hash[:2]}/{f.hash}"))
        return (step.datum_id, files, dm.datum_env(step.datum))

    def _inline(self, steps: Sequence[Step]) -> dict[str, bytes]:
        hashes = sorted({f.hash for s in steps for di in s.datum.inputs for f in di.files})  # index order
        return objects.inlined(self.pfs.store.reader(), hashes)  # not waiting on the records' writes

    def _pachyderm_env(self, job_id: str) -> dict[str, str]:
        """The variables a Pachyderm worker sets for user code: the job's id and its output
        commit's are the commit set's."""
        env = {"PACH_JOB_ID": self.commit_set, "PACH_OUTPUT_COMMIT_ID": self.commit_set,
               "PPS_PIPELINE_NAME": self.spec.pipeline_name, "PPS_PROJECT_NAME": self.spec.project}
        for node in self.spec.pfs_inputs:
            env[f"{node['name']}_COMMIT"] = self.pfs.commit_id(self.commit_of(node))
        return env

    def _executor(self, job_id: str, root: Path) -> Executor:
        t, image = self.spec.transform, self.image
        transform = Transform.from_spec(t, self.spec.datum_timeout, t.get("workingDir") or self.cwd)
        if image is not None:  # transform.workingDir wins over the image's WORKDIR, as in a worker
            transform = dataclasses.replace(transform, binds=image.binds,
                                            workdir=None if t.get("workingDir") else image.workdir)
        kind = executors.select(transform, self.spec.datum_batching, self.container)
        env, mounts = secrets.for_workers(self.pfs.store, self.spec.transform, root, self.container)
        setup = Setup(transform, kind.environment({**self._pachyderm_env(job_id), **env}), root,
                      self.pfs.store.objects_dir, self.workers, self.spec.datum_tries,
                      tuple(dict.fromkeys(node["name"] for node in self.spec.pfs_inputs)))
        if self.container:
            return kind(setup, user=self.spec.transform.get("user"),
                        workdir=self.spec.transform.get("workingDir"), mounts=mounts)
        return kind(setup)

    def _run_datums(self, executor: Executor, job_id: str, feed: Feed, keep: bool) -> dict[str, Result]:
        """Run every datum up to datumTries times; errCmd may recover one. → id: (state,
        outcome, tries) of each datum that did not succeed, and (if `keep`) of each that did."""
        self._steps = by_id = {}  # id → step, of each datum running or that did not succeed
        objects = str(self.pfs.store.objects_dir)
        if not feed.total:
            return {}
        kept: dict[str, Result] = {}

        def build(steps: Sequence[Step]) -> list[tuple]:
            # Tasks are made as workers ask for them, so the first datums run while the rest
            # are still being laid out as tasks.
            by_id.update((s.datum_id, s) for s in steps)
            inline = self._inline(steps)
            return [self._task(s, inline, objects) for s in steps]

        def final(did: str, state: DatumState, o: Outcome) -> None:
            self.deadline.check()  # no datum finishes after jobTimeout: the job ends here
            # Rows are made as results come in, while the workers run the next datums.
            ok = state == DatumState.SUCCESS
            self.records.finished(by_id.pop(did) if ok else by_id[did], state, o)
            if ok and keep:
                kept[did] = (state, o, 1)
        self._tick(0, feed.total)
        self.records.expect(feed.total)
        with self.records.flushing():
            results = executor.run(feed, build, final, lambda n: self._tick(n, feed.total))
        results.update(kept)
        t = executor.setup.transform
        if t.err_cmd:
            err_t = Transform(t.err_cmd, t.err_stdin, t.env, timeout=t.timeout, cwd=t.cwd,
                              image=t.image, binds=t.binds, workdir=t.workdir)
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
            clash = (lambda paths, removed: carried_collision(self.pfs.store, base, paths, removed)) \
                if base is not None and base.output_commit else None
            merged = merge(p, results, clash, frozenset(s.datum_id for s in runs))
            reason = merged.reason
            if reason:
                state = JobState.FAILURE
        if state == JobState.SUCCESS and not runs:
            reason = "there were no datums to process" + (
                "" if p.total else " (the input matched no files)")
        rows, logs, bytes_in, bytes_out = self._unstored(runs, results)
        with store.transaction() as tx:
            tx.put_objects(logs)
            datums.insert(tx, rows)
            # Skipped datums are the base job's records: a delta plan's job layers on them
            # (every base datum it did not run or delete keeps its place, with no row of its
            # own); a full plan's carries a row for each of its skips.
            if p.carried:
                datums.layer_on(tx, job_id, base.key,
                                [s.datum_id for s in p.steps if s.action == Action.DELETE])
            elif base is not None:
                datums.carry(tx, job_id, base.key, DatumState.SKIPPED,
                             [(s.datum_id, self._seq[s.datum_id]) for s in p.steps
                              if s.action == Action.SKIP and s.done is None])
            # A datum a killed job finished: that job's record, as a skip of this one.
            by_job: dict[str, list[tuple[str, int]]] = collections.defaultdict(list)
            for s in p.resumed:
                by_job[s.done.job_id].append((s.datum_id, self._seq[s.datum_id]))
            for killed_id, seqs in by_job.items():
                datums.carry(tx, job_id, killed_id, DatumState.SKIPPED, seqs)
            datums.seal(tx, job_id)
            if state == JobState.SUCCESS:
                out_commit = self.pfs.write_commit(
                    self.out_repo, self.branch, merged.changes, merged.objects, origin=AUTO,
                    description=f"output of job {self.commit_set}",
                    provenance=self._provenance(inputs),
                    copy_from=base.output_commit if base else None, commit_id=job_id,
                    commit_set=self.commit_set, check=False, tx=tx)
            else:
                out_commit = self.errored_commit(tx, job_id, inputs, reason)
            jobs.finish(tx, job_id, state, reason, out_commit, bytes_in=bytes_in,
                        bytes_out=bytes_out, **counts)

    def _unstored(self, runs: Sequence[Step], results: dict[str, Result]):
        """What the job's last transaction writes of the datums that ran: the records not in
        the store (those of succeeded datums are, once flushed: flushed now), their logs, and
        the bytes in and out of every datum that ran."""
        self.records.flush()
        rows = self.records.of(runs, results)
        logs = []  # (hash, size, content) of each log: the rows hold their hashes
        for r in rows:
            if r[LOG_HASH]:
                log = results[r[ID]][1].log
                logs.append((r[LOG_HASH], len(log), log))
        return rows, logs, *self.records.bytes_moved(rows)

    def _finish_first(self, job_id: str, total: int, results: dict[str, Result], inputs) -> None:
        """The end of a first job (its plan streamed: every datum ran). The records of the
        datums that succeeded are in the store, their outputs in a staged layer that the job's
        last transaction gives to its output commit: a job of 10^6 datums holds none of them."""
        store = self.pfs.store
        seq = self._seq.get
        failed = sorted((d for d, r in results.items() if r[0] == DatumState.FAILED), key=seq)
        recovered = sum(1 for r in results.values() if r[0] == DatumState.RECOVERED)
        counts = dict(processed=total - len(failed) - recovered, skipped=0, failed=len(failed),
                      recovered=recovered, total=total)
        rows, logs, bytes_in, bytes_out = self._unstored([self._steps[d] for d in results], results)
        reason = f"datum {failed[0]} failed: {results[failed[0]][1].reason}" if failed else ""
        if not total:
            reason = "there were no datums to process (the input matched no files)"
        records = self.records
        with store.transaction() as tx:
            tx.put_objects(logs)
            datums.insert(tx, rows)
            datums.seal(tx, job_id)
            out_commit = None
            if failed:
                records.drop_outputs(tx)
            else:
                # The succeeded datums' outputs are in the records' staged layer already; a
                # clash is looked for only where one may be.
                layer = records.layer if records.layer is not None else staged.stage(tx)
                dup = datums.duplicate_output(tx, job_id) if records.duplicate else None
                clash = files.nested(staged.layer_paths(tx, layer)) \
                    if records.nested and not dup else None
                if dup or clash:
                    reason = (f"duplicate path output by different datums ({dup[0]} from {dup[1]} "
                              f"and {dup[0]} from {dup[2]})") if dup else \
                        f"file / directory path collision ({clash[1]})"
                    records.drop_outputs(tx)
                else:
                    out_commit = self.pfs.write_commit(
                        self.out_repo, self.branch, {}, origin=AUTO,
                        description=f"output of job {self.commit_set}",
                        provenance=self._provenance(inputs), commit_id=job_id,
                        commit_set=self.commit_set, check=False, staged_layer=layer, tx=tx)
            state = JobState.SUCCESS if out_commit else JobState.FAILURE
            if out_commit is None:
                out_commit = self.errored_commit(tx, job_id, inputs, reason)
            jobs.finish(tx, job_id, state, reason, out_commit, bytes_in=bytes_in,
                        bytes_out=bytes_out, **counts)

    def errored_commit(self, tx, job_id: str, inputs, reason: str) -> str:
        """The output commit of a job that did not succeed: in its commit set, finished with the
        reason as its error, holding no files (nothing may read it)."""
        return self.pfs.write_commit(
            self.out_repo, self.branch, {}, origin=AUTO,
            description=f"output of job {self.commit_set}", provenance=self._provenance(inputs),
            copy_from="", commit_id=job_id, commit_set=self.commit_set, error=reason,
            check=False, tx=tx)

    def _provenance(self, inputs) -> list[tuple[str, str | None, str]]:
        """The input commits and, transitively, what they were computed from."""
        out = list(inputs)
        for _repo, _branch, commit in inputs:
            out += commits.provenance(self.pfs.store, commit)
        seen, uniq = set(), []
        for repo, branch, commit in out:
            if commit not in seen:
                seen.add(commit)
                uniq.append((repo, branch, commit))
        return uniq
