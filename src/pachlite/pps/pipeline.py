"""Pipelines: create, update, list, delete, and run the jobs their input commits call for.

As pachd makes a job per commit set, a pipeline runs one job for each commit set that reached its
inputs since its last job, oldest set first: two commits put into an input before one `run` make
two jobs, each reading the inputs as they were in its set (the second a delta against the first,
so a burst of commits costs what changed). A first job (or one after a spec change) reads the
heads, in a set of its own. Pipelines run in DAG order; a job that reads an input commit finished
with an error (its upstream job failed) is unrunnable, and its output commit errored too.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass

from pachlite.errors import Conflict, NotFound, SpecError
from pachlite.pfs import PFS
from pachlite.pfs.address import split_key
from pachlite.pps import code, cron, secrets, spec as specs, triggers
from pachlite.pps.executors.jobdir import remove_job_scratch
from pachlite.pps.info import JobInfo, job_from_row
from pachlite.pps.job import Job
from pachlite.pps.lock import DIED, Stopped, pipeline_lock
from pachlite.pps.plan import Plan
from pachlite.pps.retry import retry_hint
from pachlite.pps.spec import fields
from pachlite.pps.spec.tree import where as spec_where
from pachlite.pps.states import JobState
from pachlite.store import branches, commits, jobs, pipelines, projects, repos
from pachlite.store.pipelines import PipelineRow

RUNNING, PAUSED = "running", "paused"  # a pipeline's state (pachd's PIPELINE_RUNNING, _PAUSED)


@dataclass(frozen=True)
class PipelineInfo:
    name: str           # its key (`project/name` outside the default project), as its output repo's
    spec: dict          # as given, normalised (camelCase); `PipelineSpec.of` gives the running form
    salt: str
    version: int
    created: float
    updated: float
    last_job: JobInfo | None
    stopped: bool = False  # by `stop pipeline`: it runs no jobs until `start pipeline`

    @property
    def inputs(self) -> list[str]:
        """The keys of the repos it reads."""
        return specs.input_repos(self.spec)

    @property
    def project(self) -> str:
        return split_key(self.name)[0]


@dataclass(frozen=True)
class RunResult:
    pipeline: str
    action: str         # ran | up to date | waiting | unrunnable | planned
    job: JobInfo | None = None
    plan: Plan | None = None
    detail: str = ""


def _info(pfs: PFS, row: PipelineRow) -> PipelineInfo:
    last = jobs.latest(pfs.store, row.name)
    return PipelineInfo(row.name, row.spec, row.salt, row.version, row.created, row.updated,
                        job_from_row(last) if last else None, row.state == PAUSED)


def inspect_pipeline(pfs: PFS, name: str) -> PipelineInfo:
    """The pipeline of key `name`."""
    row = pipelines.get(pfs.store, name)
    if row is None:
        project, bare = split_key(name)
        pfs.project_row(project)
        known = [split_key(k)[1] for k in pipelines.names(pfs.store, project)]
        raise NotFound(f"pipeline {bare} not found in project {project}",
                       f"known pipelines there: {', '.join(known) or 'none'}; create it with "
                       "'pachlite create pipeline -f SPEC'")
    return _info(pfs, row)


def list_pipeline(pfs: PFS, project: str | None = None) -> list[PipelineInfo]:
    """Every pipeline (of the project, when given), newest first."""
    if project is not None:
        pfs.project_row(project)
    return [_info(pfs, r) for r in pipelines.list_pipelines(pfs.store, project)]


def create_pipeline(pfs: PFS, raw: dict, source: str = "<spec>", *, update: bool = False,
                    reprocess: bool | None = False, cwd: str | None = None,
                    container: bool | None = None) -> PipelineInfo:
    """Register (or update) a pipeline and its output repo. Does not run it: see `run`.

    reprocess=None reprocesses only if the transform or its code changed: how a workflow rule
    updates its pipeline, since a changed command makes every old output stale. With cwd, the
    code files found there are hashed into the spec (pps.code).
    """
    spec = specs.normalize(raw, source)
    if container is False and (spec.get("transform") or {}).get("user"):
        path, why, fix = fields.refused(spec, container)
        raise SpecError(f"`{path}` cannot run locally: {why}", fix, where=spec_where(source, path))
    if cwd is not None:
        spec = code.stamped(spec, code.stamp_here(spec, cwd))
    name = specs.pipeline_key(spec)
    project = specs.project(spec)
    secrets.check_create(pfs.store, spec, container, source)
    # Every check is made inside the write transaction (reads through pfs.store share its
    # connection): two creates of one pipeline at once, or a create racing the delete of an
    # input repo, see each other's result instead of both passing the checks.
    with pfs.store.transaction() as tx:
        if projects.get(tx, project) is None:
            raise NotFound(f"pipeline {spec['pipeline']['name']} is in project {project}, which "
                           "does not exist", f"create it with 'pachlite create project {project}'",
                           where=source)
        cron.create_repos(pfs, tx, spec)
        for repo in specs.input_repos(spec):
            if repos.get(tx, repo) is None:
                raise NotFound(f"pipeline {name} reads repo {repo}, which does not exist",
                               f"create it with 'pachlite create repo {repo}' and put data in it",
                               where=source)
        existing = pipelines.get(tx, name)
        if existing and not update:
            raise Conflict(f"pipeline {name} already exists",
                           "change it with 'pachlite update pipeline -f SPEC'", where=source)
        if not existing:
            repo = repos.get(tx, name)
            if repo is not None and repo.kind != "pipeline":
                raise Conflict(f"repo {name} already exists and is not a pipeline's output",
                               "name the pipeline differently or delete the repo", where=source)
        _check_acyclic(pfs, name, specs.input_repos(spec), source)
        triggers.set_input_triggers(tx, spec, source)
        now = time.time()
        if existing and not code.recorded(spec):  # code not found here: keep what was found
            spec = code.stamped(spec, code.recorded(existing.spec))
        if reprocess is None:
            reprocess = bool(existing) and (
                existing.spec.get("transform") != spec.get("transform")
                or code.recorded(existing.spec) not in ("", code.recorded(spec)))
        salt = existing.salt if existing and not reprocess else uuid.uuid4().hex
        if existing and not reprocess and existing.spec == spec:
            return _info(pfs, existing)
        pfs.insert_repo(tx, name, spec.get("description", ""), kind="pipeline", exist_ok=True)
        if existing:
            pipelines.update(tx, name, spec, salt, now)
        else:
            pipelines.insert(tx, name, spec, salt, now)
    for line in fields.warnings(spec):  # once, when the spec is stored: a rerun stays quiet
        print(line, file=sys.stderr)
    return inspect_pipeline(pfs, name)


def _check_acyclic(pfs: PFS, name: str, inputs: list[str], source: str) -> None:
    graph = {p.name: p.inputs for p in list_pipeline(pfs)}
    graph[name] = inputs
    stack, seen = list(inputs), set()
    while stack:
        repo = stack.pop()
        if repo == name:
            raise SpecError(f"pipeline {name} would read its own output through its inputs",
                            "remove the cycle from the input repos", where=source)
        if repo not in seen:
            seen.add(repo)
            stack.extend(graph.get(repo, []))


def delete_pipeline(pfs: PFS, name: str, keep_repo: bool = False) -> None:
    """Delete a pipeline, its jobs and (unless keep_repo) its output repo. As pachd kills a
    deleted pipeline's jobs, a running job's process is stopped first (SIGTERM), and the
    pipeline deleted once it has let go of the pipeline's lock."""
    info = inspect_pipeline(pfs, name)
    users = [p.name for p in list_pipeline(pfs) if name in p.inputs]
    if users:
        raise Conflict(f"pipelines {', '.join(users)} read the output of pipeline {name}",
                       "delete them first")
    with pipeline_lock(pfs, name, stop_running=True):
        with pfs.store.transaction() as tx:
            pipelines.delete_cascade(tx, name)
        if not keep_repo:
            pfs.delete_repo(name)
        cron.delete_repos(pfs, info.spec, {r for p in list_pipeline(pfs) for r in p.inputs})


def stop_pipeline(pfs: PFS, name: str) -> None:
    """Stop a pipeline (pachd's StopPipeline): it runs no jobs until started again; a job already
    running finishes."""
    inspect_pipeline(pfs, name)
    with pfs.store.transaction() as tx:
        pipelines.set_state(tx, name, PAUSED)


def start_pipeline(pfs: PFS, name: str) -> None:
    """Restart a stopped pipeline: the next run makes the jobs its inputs call for."""
    inspect_pipeline(pfs, name)
    with pfs.store.transaction() as tx:
        pipelines.set_state(tx, name, RUNNING)


def stop_job(pfs: PFS, name: str, job_id: str) -> JobInfo:
    """Stop a job (pachd's StopJob): a running job's process is stopped as `delete pipeline`
    stops it (SIGTERM; the job ends killed, keeping the datums it finished); a job left running
    by a process that died is marked killed. A finished job cannot be stopped."""
    from pachlite.pps import api
    job = api.inspect_job(pfs, name, job_id)
    if job.state not in (JobState.RUNNING, JobState.CREATED, JobState.KILLED) or \
            (job.state == JobState.KILLED and job.reason != DIED):
        raise Conflict(f"job {name}@{job.id} already finished ({job.state})",
                       "only a running job can be stopped")
    with pipeline_lock(pfs, name, stop_running=True):
        row = jobs.get(pfs.store, job.key)
        if row.state in (JobState.RUNNING, JobState.CREATED):
            _end_job(pfs, job.key, JobState.KILLED, "job stopped")
            remove_job_scratch(job.key)
    return api.inspect_job(pfs, name, job.id)


def guard_repo_delete(pfs: PFS, repo: str, force: bool = False) -> None:
    if pipelines.exists(pfs.store, repo):
        raise Conflict(f"repo {repo} is the output of pipeline {repo}",
                       f"delete the pipeline instead: 'pachlite delete pipeline {repo}'")
    users = [p.name for p in list_pipeline(pfs) if repo in p.inputs]
    if users and not force:
        raise Conflict(f"pipelines {', '.join(users)} read repo {repo}",
                       "delete them first, or pass --force")


def delete_project(pfs: PFS, project: str, force: bool = False) -> None:
    """Delete a project; with force, its pipelines (downstream first) and repos go with it, as
    pachctl deletes them before asking pachd. Refused while another project's pipeline reads one
    of its repos: that pipeline would be left reading nothing."""
    pfs.project_row(project)
    if force:
        mine = set(pipelines.names(pfs.store, project))
        keys = set(repos.names(pfs.store, project))
        users = sorted(p.name for p in list_pipeline(pfs) if p.name not in mine and keys & set(p.inputs))
        if users:
            raise Conflict(f"pipelines {', '.join(users)} of other projects read repos of project "
                           f"{project}", "delete them first")
        for p in reversed(dag_order(list_pipeline(pfs, project))):
            delete_pipeline(pfs, p.name)
    pfs.delete_project(project, force)


def dag_order(pipelines: list[PipelineInfo]) -> list[PipelineInfo]:
    """Upstream before downstream; ties by name, so the order is stable."""
    by_name = {p.name: p for p in pipelines}
    done: list[PipelineInfo] = []
    placed: set[str] = set()
    pending = sorted(by_name)
    while pending:
        ready = [n for n in pending if all(r not in by_name or r in placed
                                           for r in by_name[n].inputs)] or pending[:1]
        for n in ready:  # (`or pending[:1]`: a cycle, refused at create, must not hang us)
            done.append(by_name[n])
            placed.add(n)
        pending = [n for n in pending if n not in placed]
    return done


def run(pfs: PFS, names: list[str] | None = None, *, workers: int | None = None,
        dry_run: bool = False, container: bool = False, cwd: str | None = None,
        progress: Callable[[str, int, int], None] | None = None,
        reprocess: Collection[str] = (), retry: bool = False) -> list[RunResult]:
    """Run a job for every named pipeline (default: all, in DAG order) whose inputs or code moved.

    reprocess: pipelines given a new salt first (every datum runs again). retry: run the named
    pipelines' failed jobs again on the same inputs (`restart datum`), rather than refuse to."""
    everything = list_pipeline(pfs)
    selected = dag_order(everything)
    if names:
        for n in names:
            inspect_pipeline(pfs, n)
        selected = [p for p in selected if p.name in names]
    results = []
    with _stop_on_sigterm():
        for p in selected:
            with pipeline_lock(pfs, p.name):
                row = pipelines.get(pfs.store, p.name)
                if row is None:  # deleted while we waited for its lock
                    continue
                if not dry_run and row.state != PAUSED:  # pachd ticks while the pipeline runs
                    cron.commit_due(pfs, row.spec, row.created)
                info, salt = _code_version(pfs, _info(pfs, row), cwd, p.name in reprocess, dry_run)
                results += _run_one(pfs, info, workers, dry_run, container, cwd, progress,
                                    salt=salt, retry=retry)
    return results


def _code_version(pfs: PFS, p: PipelineInfo, cwd: str | None, reprocess: bool,
                  dry_run: bool) -> tuple[PipelineInfo, str | None]:
    """The pipeline with its code's hash up to date: changed code (or reprocess) is a new salt
    and version, as `update pipeline --reprocess` with a new image. A dry run changes nothing
    and returns the salt to plan with (None: the pipeline's own)."""
    now = code.stamp_here(p.spec, cwd) if cwd is not None else ""
    was = code.recorded(p.spec)
    changed = reprocess or bool(now and was and now != was)
    if not changed and now in ("", was):
        return p, None
    if dry_run:
        return p, (uuid.uuid4().hex if changed else None)
    with pfs.store.transaction() as tx:
        pipelines.update(tx, p.name, code.stamped(p.spec, now),
                         uuid.uuid4().hex if changed else p.salt, time.time())
    return inspect_pipeline(pfs, p.name), None


@contextlib.contextmanager
def _stop_on_sigterm():
    """SIGTERM ends the running job as Ctrl-C does (killed, its user code killed, its scratch
    folder removed) instead of leaving it for the next run to find."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread
        return

    def stop(signum, frame):
        raise Stopped("SIGTERM")
    old = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _run_one(pfs: PFS, p: PipelineInfo, workers, dry_run, container, cwd, progress=None, *,
             salt: str | None = None, retry: bool = False) -> list[RunResult]:
    """The jobs a pipeline owes, one per commit set, oldest first. A new salt (a dry run's
    changed code) or a retry runs one job on the heads, in a new set."""
    if p.stopped:
        return [RunResult(p.name, "stopped",
                          detail=f"the pipeline is stopped; start it with 'pachlite start pipeline {p.name}'")]
    try:
        spec = specs.stored(p.spec, p.name)
    except SpecError as e:  # only this pipeline cannot run: the others still do
        return [RunResult(p.name, "unrunnable", detail=str(e))]
    for node in spec.pfs_inputs:
        if branches.head(pfs.store, node["repo"], node["branch"]) is None:
            return [RunResult(p.name, "waiting",
                              detail=f"input {node['repo']}@{node['branch']} has no commits yet")]
    if p.last_job and p.last_job.state == JobState.RUNNING and not dry_run:
        # We hold the pipeline's lock, so no job of it runs: this one's process died mid-job.
        _end_job(pfs, p.last_job.key, JobState.KILLED, DIED)
        remove_job_scratch(p.last_job.key)
        p = inspect_pipeline(pfs, p.name)
    from pachlite.pps import commitset  # (it reads jobs through api.py, which imports this module)
    keys = [(n["repo"], n["branch"]) for n in spec.pfs_inputs]
    pending = commitset.pending_jobs(pfs, p, keys)
    if not pending:
        last = p.last_job
        if salt is None and not retry:
            if last and last.state in (JobState.FAILURE, JobState.UNRUNNABLE):  # the same again, unless asked
                return [RunResult(p.name, "failed", last, detail=retry_hint(pfs, last))]
            return [RunResult(p.name, "up to date", last)]
        pending = [(None, commitset.input_heads(pfs, keys))]

    def job(commit_set: str | None, inputs: dict[tuple[str, str], str]) -> Job:
        return Job(pfs, spec, salt or p.salt, p.version, workers or spec.parallelism, container, cwd,
                   progress, commit_set=commitset.job_set(pfs, p.name, commit_set, inputs), inputs=inputs)
    if dry_run:  # what the last of the pending jobs would do
        j = job(*pending[-1])
        failed = _failed_inputs(pfs, j)
        if failed:
            return [RunResult(p.name, "unrunnable", detail=failed)]
        plan, _ = j.plan(full=True)
        return [RunResult(p.name, "planned", plan=plan,
                          detail="a new salt (changed code, or a reprocess)" if salt else "")]
    results = []
    for commit_set, inputs in pending:
        j = job(commit_set, inputs)
        failed = _failed_inputs(pfs, j)
        if failed:
            results.append(RunResult(p.name, "unrunnable", j.unrunnable(failed)))
            continue
        info = j.run()
        results.append(RunResult(p.name, "ran", info,
                                 detail=retry_hint(pfs, info) if info.state == JobState.FAILURE else ""))
    return results


def _end_job(pfs: PFS, job_id: str, state: str, reason: str) -> None:
    with pfs.store.transaction() as tx:
        jobs.set_state(tx, job_id, state, reason)


def _failed_inputs(pfs: PFS, job: Job) -> str:
    """Why a job cannot run: an input commit finished with an error (its job failed), as pachd
    marks the downstream jobs of a failed job's commit set."""
    failed = [repo for repo, _, c in job.input_commits() if commits.get(pfs.store, c).error]
    if failed:
        return f"unrunnable because the following upstream pipelines failed: {', '.join(failed)}"
    return ""
