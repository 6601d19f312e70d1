"""CLI verbs for pipelines, jobs, datums and logs (registered onto the `pachlite` group)."""

from __future__ import annotations

import contextlib
import json
import sys

import click

from pachlite.cli import pretty
from pachlite.errors import InvalidInput, NotFound
from pachlite.pps.states import JobState


def _pfs():
    from pachlite.cli import _open
    return _open()


def _raw(obj) -> None:
    from pachlite.cli import _raw as raw
    raw(obj)


def _split(text: str, what: str) -> tuple[str, str | None]:
    name, _, rest = text.partition("@")
    return name, (rest or None)


def _job(pfs, pipeline: str, job_id: str | None):
    from pachlite.pps.info import job_from_row
    from pachlite.pps.pipeline import inspect_pipeline
    from pachlite.store import jobs
    inspect_pipeline(pfs, pipeline)
    if job_id:
        row = jobs.find(pfs.store, pipeline, job_id)
    else:
        row = jobs.latest(pfs.store, pipeline)
    if row is None:
        raise NotFound(f"job {pipeline}@{job_id or '<latest>'} not found",
                       f"list jobs with 'pachlite list job -p {pipeline}'")
    return job_from_row(row)


@contextlib.contextmanager
def _progress():
    """A live datum count per job on a terminal (rich); nothing when stderr is not one."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    bars: dict[str, int] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as p:
        def update(pipeline: str, done: int, total: int) -> None:
            if pipeline not in bars:
                bars[pipeline] = p.add_task(f"{pipeline}: datums", total=total)
            p.update(bars[pipeline], completed=done, total=total)
        yield update


def report(results, out=sys.stdout) -> int:
    """Print one line per pipeline; return the exit status (1 if any job did not succeed)."""
    status = 0
    for r in results:
        j = r.job
        if r.action == "planned":
            p = r.plan
            click.echo(f"{r.pipeline}: would run {p.count('run')}, skip {p.count('skip')}, "
                       f"delete {p.count('delete')} datum(s)")
            for s in p.steps:
                click.echo(f"  {s.action:<6} {s.datum_id[:12]}  {_datum_label(s)}  ({s.reason})")
            continue
        if r.action == "waiting":
            click.echo(f"{r.pipeline}: waiting: {r.detail}")
            continue
        if j is None:
            click.echo(f"{r.pipeline}: {r.action}: {r.detail}")
            status = 1
            continue
        line = f"{r.pipeline}: job {j.id} {j.state}: {j.progress}"
        if r.action == "up to date":
            line = f"{r.pipeline}: up to date (job {j.id} {j.state})"
        reason = " ".join(j.reason.split())  # one line, whatever the user code printed
        if reason:
            line += f" ({reason})"
        click.echo(line)
        if j.state != JobState.SUCCESS:
            status = 1
            click.echo(f"pachlite: error: pipeline {r.pipeline} job {j.id} {j.state}: {reason}; "
                       f"see 'pachlite logs --pipeline {r.pipeline} --job {j.id}'", err=True)
    return status


def _datum_label(step) -> str:
    if step.datum is None:
        return "(removed)"
    return " ".join(f"{di.repo}@{di.commit[:8]}:{di.path}" for di in step.datum.inputs)


def register(cli, *, create, list_, inspect, delete) -> None:  # noqa: C901 - a list of commands
    @create.command("pipeline")
    @click.option("-f", "--file", "path", required=True, help="Spec file: JSON, JSON list or YAML.")
    @click.option("--workers", type=int, help="Workers for the first job (default: parallelismSpec).")
    @click.option("--container", is_flag=True, help="Run datums in transform.image with Docker.")
    def create_pipeline(path: str, workers: int | None, container: bool) -> None:
        """Create pipelines from a spec and run a job on the current heads of their inputs."""
        _create(path, False, False, workers, container)

    @cli.group("update", context_settings={"help_option_names": ["-h", "--help"]})
    def update() -> None:
        """Update a pipeline."""

    @update.command("pipeline")
    @click.option("-f", "--file", "path", required=True)
    @click.option("--reprocess", is_flag=True, help="New salt: every datum runs again.")
    @click.option("--workers", type=int)
    @click.option("--container", is_flag=True)
    def update_pipeline(path: str, reprocess: bool, workers: int | None, container: bool) -> None:
        """Update pipelines (keeping their salt unless --reprocess) and run a job."""
        _create(path, True, reprocess, workers, container)

    def _create(path, update_, reprocess, workers, container):
        import os
        from pachlite.pps import pipeline as pl
        from pachlite.pps.spec import load_specs
        pfs = _pfs()
        names = []
        for i, raw in enumerate(load_specs(path)):
            src = path if i == 0 else f"{path}[{i}]"
            names.append(pl.create_pipeline(pfs, raw, src, update=update_, reprocess=reprocess).name)
        with _progress() as progress:
            results = pl.run(pfs, names, workers=workers, container=container,
                             cwd=os.getcwd(), progress=progress)
        sys.exit(report(results))

    @cli.command("run")
    @click.argument("pipelines", nargs=-1)
    @click.option("--workers", type=int, help="Datums run at once (default: parallelismSpec).")
    @click.option("--dry-run", is_flag=True, help="Print the datum plan; run nothing.")
    @click.option("--container", is_flag=True, help="Run datums in transform.image with Docker.")
    @click.option("--spec", "spec_json", help="Create or update this pipeline (JSON) first, then "
                  "run it: how a Snakemake rule runs its pipeline. A changed transform "
                  "reprocesses every datum.")
    @click.option("--head-file", type=click.Path(dir_okay=False),
                  help="Afterwards, write the output repo's head commit id here (for Snakemake).")
    def run_cmd(pipelines, workers, dry_run, container, spec_json, head_file) -> None:
        """Run a job for each pipeline whose inputs have new commits (all, in DAG order)."""
        import os
        from pachlite.pps import pipeline as pl
        pfs = _pfs()
        names = list(pipelines) or None
        if spec_json:
            try:
                raw = json.loads(spec_json)
            except json.JSONDecodeError as e:
                raise InvalidInput(f"--spec is not JSON: {e}", "pass one pipeline spec as JSON")
            names = [pl.create_pipeline(pfs, raw, "--spec", update=True, reprocess=None).name]
        with _progress() as progress:
            results = pl.run(pfs, names, workers=workers, dry_run=dry_run,
                             container=container, cwd=os.getcwd(), progress=progress)
        status = report(results)
        if head_file and status == 0 and not dry_run:
            from pachlite.snake import write_head
            for name in names or []:
                write_head(pfs.store.root, name, head_file)
        sys.exit(status)

    @list_.command("pipeline")
    @click.option("--raw", is_flag=True)
    def list_pipeline(raw: bool) -> None:
        """List pipelines with their inputs and last job's state."""
        from pachlite.pps.pipeline import list_pipeline as lp
        ps = lp(_pfs())
        if raw:
            return _raw(ps)
        click.echo(pretty.table(["NAME", "VERSION", "INPUT", "CREATED", "STATE / LAST JOB"],
                                [(p.name, p.version, ", ".join(f"{r}:{g}" for r, g in _globs(p.spec)),
                                  pretty.ago(p.created),
                                  p.last_job.state if p.last_job else "-") for p in ps]))

    @inspect.command("pipeline")
    @click.argument("name")
    @click.option("--raw", is_flag=True)
    def inspect_pipeline(name: str, raw: bool) -> None:
        """Show a pipeline's spec, salt, version and last job."""
        from pachlite.pps.pipeline import inspect_pipeline as ip
        from pachlite.pps.spec import emit
        p = ip(_pfs(), name)
        if raw:
            return _raw(p)
        click.echo(f"Name: {p.name}\nVersion: {p.version}\nSalt: {p.salt}\n"
                   f"Created: {pretty.ago(p.created)}\nInput repos: {', '.join(p.inputs)}\n"
                   f"Last job: {p.last_job.id + ' ' + p.last_job.state if p.last_job else '-'}\n"
                   f"Spec:\n{emit(p.spec)}", nl=False)

    @delete.command("pipeline")
    @click.argument("name")
    @click.option("--keep-repo", is_flag=True, help="Keep the output repo.")
    def delete_pipeline(name: str, keep_repo: bool) -> None:
        """Delete a pipeline, its jobs and (unless --keep-repo) its output repo."""
        from pachlite.pps.pipeline import delete_pipeline as dp
        dp(_pfs(), name, keep_repo)

    @list_.command("job")
    @click.option("-p", "--pipeline")
    @click.option("--raw", is_flag=True)
    def list_job(pipeline: str | None, raw: bool) -> None:
        """List jobs, newest first."""
        from pachlite.pps.info import job_from_row
        from pachlite.store.jobs import list_jobs
        pfs = _pfs()
        if pipeline:
            from pachlite.pps.pipeline import inspect_pipeline as ip
            ip(pfs, pipeline)
        jobs = [job_from_row(r) for r in list_jobs(pfs.store, pipeline)]
        if raw:
            return _raw(jobs)
        click.echo(pretty.table(
            ["PIPELINE", "ID", "STARTED", "DURATION", "PROGRESS", "DL", "UL", "STATE"],
            [(j.pipeline, j.id, pretty.ago(j.started), pretty.duration(j.duration), j.progress,
              pretty.size(j.bytes_in), pretty.size(j.bytes_out), j.state) for j in jobs]))

    @inspect.command("job")
    @click.argument("job_addr", metavar="PIPELINE@JOB")
    @click.option("--raw", is_flag=True)
    def inspect_job(job_addr: str, raw: bool) -> None:
        """Show a job: state, reason, counts, bytes, timings, input and output commits."""
        pipeline, jid = _split(job_addr, "job")
        j = _job(_pfs(), pipeline, jid)
        if raw:
            return _raw(j)
        click.echo("\n".join([
            f"ID: {j.id}", f"Pipeline: {j.pipeline}", f"State: {j.state}",
            f"Reason: {j.reason or '-'}", f"Started: {pretty.ago(j.started)}",
            f"Duration: {pretty.duration(j.duration)}",
            f"Datums: {j.processed} processed, {j.skipped} skipped, {j.failed} failed, "
            f"{j.recovered} recovered, {j.total} total",
            f"Data downloaded: {pretty.size(j.bytes_in)}", f"Data uploaded: {pretty.size(j.bytes_out)}",
            "Inputs: " + ", ".join(f"{r}@{b}={c}" for r, b, c in j.inputs),
            f"Output commit: {j.pipeline}@{j.output_commit}" if j.output_commit else "Output commit: -"]))

    @list_.command("datum")
    @click.argument("job_addr", metavar="PIPELINE@JOB", required=False)
    @click.option("-f", "--file", "spec_path", help="Preview the datums of a spec without running it.")
    @click.option("--raw", is_flag=True)
    def list_datum(job_addr: str | None, spec_path: str | None, raw: bool) -> None:
        """List a job's datums with state and time, or preview a spec's datums with -f."""
        pfs = _pfs()
        if spec_path:
            return _preview(pfs, spec_path, raw)
        if not job_addr:
            raise InvalidInput("list datum needs PIPELINE@JOB or -f SPEC",
                               "e.g. 'pachlite list datum infer' or 'pachlite list datum -f spec.json'")
        pipeline, jid = _split(job_addr, "job")
        j = _job(pfs, pipeline, jid)
        ds = _datums(pfs, j)
        if raw:
            return _raw(ds)
        click.echo(pretty.table(["ID", "FILES", "STATUS", "TIME"],
                                [(d.id, ", ".join(d.inputs), d.state,
                                  pretty.duration(d.duration) if d.duration is not None else "-")
                                 for d in ds]))

    def _preview(pfs, spec_path: str, raw: bool) -> None:
        from pachlite.pps import datum as dm
        from pachlite.pps.job import Job
        from pachlite.pps.spec import PipelineSpec, load_specs, normalize
        for rawspec in load_specs(spec_path):
            spec = PipelineSpec.of(normalize(rawspec, spec_path))
            job = Job(pfs, spec, "", 0)
            ds = dm.datums(spec.input, job.resolve)
            if raw:
                _raw([{"id": d.id, "files": [f"{di.repo}@{di.commit}:{f.path}" for di in d.inputs
                                             for f in di.files]} for d in ds])
                continue
            click.echo(pretty.table(["ID", "FILES"], [
                (d.id, ", ".join(f"{di.repo}@{di.commit[:8]}:{di.path}" for di in d.inputs))
                for d in ds]))

    @inspect.command("datum")
    @click.argument("job_addr", metavar="PIPELINE@JOB")
    @click.argument("datum_id")
    @click.option("--raw", is_flag=True)
    def inspect_datum(job_addr: str, datum_id: str, raw: bool) -> None:
        """Show one datum: state, reason, inputs, outputs and timing."""
        pipeline, jid = _split(job_addr, "job")
        pfs = _pfs()
        j = _job(pfs, pipeline, jid)
        ds = [d for d in _datums(pfs, j, datum_id)]
        if not ds:
            raise NotFound(f"datum {datum_id} not found in job {j.id}",
                           f"list datums with 'pachlite list datum {pipeline}@{j.id}'")
        d = ds[0]
        if raw:
            return _raw(d)
        click.echo("\n".join([
            f"ID: {d.id}", f"Job: {d.job_id}", f"State: {d.state}", f"Reason: {d.reason or '-'}",
            f"Processed in job: {d.source_job}", "Inputs: " + ", ".join(d.inputs),
            "Outputs: " + (", ".join(f"{p} ({pretty.size(s)})" for p, _, s in d.outputs) or "-"),
            f"Time: {pretty.duration(d.duration) if d.duration is not None else '-'}"]))

    @cli.command("logs")
    @click.option("-p", "--pipeline", required=True)
    @click.option("--job", "job_id")
    @click.option("--datum", "datum_id")
    def logs(pipeline: str, job_id: str | None, datum_id: str | None) -> None:
        """Print the user code's stdout and stderr, per datum (latest job by default)."""
        from pachlite.store import datums
        pfs = _pfs()
        j = _job(pfs, pipeline, job_id)
        rows = datums.logs(pfs.store, j.id, datum_id)
        if datum_id and not rows and not _datums(pfs, j, datum_id):
            raise NotFound(f"datum {datum_id} not found in job {j.id}",
                           f"list datums with 'pachlite list datum {pipeline}@{j.id}'")
        for did, h in rows:
            for line in pfs.store.read_object(h).decode(errors="replace").splitlines():
                click.echo(f"[{did[:12]}] {line}")


def _globs(spec: dict):
    from pachlite.pps.spec import pfs_inputs
    return [(n["repo"], n.get("glob", "/")) for n in pfs_inputs(spec.get("input"))]


def _datums(pfs, j, prefix: str | None = None):
    from pachlite.pps.info import DatumInfo
    from pachlite.store import datums
    commits = {repo: c for repo, _, c in j.inputs}
    out = []
    for r in datums.records(pfs.store, j.id, prefix):
        inputs = tuple(f"{repo}@{commits.get(repo, '?')}:{path}" for _, repo, _, path in r.inputs)
        out.append(DatumInfo(r.job_id, r.id, r.state, r.reason, r.hash, inputs, r.outputs,
                             r.started, r.duration, r.source_job))
    return out
