"""Job verbs: list, inspect, stop and wait job, and `pachlite logs`."""

from __future__ import annotations

import re
import time

import click

from pachlite.cli import pretty, raw as rawjson
from pachlite.cli.groups import cli, inspect, list_, stop, wait
from pachlite.cli.output import (
    name_key,
    open_pfs,
    parse_job,
    project_option,
    project_or_default,
    raw_option,
    reader_gone,
)
from pachlite.errors import InvalidInput
from pachlite.pfs.address import split_key


def _state(text: str) -> str:
    """pachd's JobStateFromName: JOB_SUCCESS, SUCCESS or success."""
    from pachlite.pps.states import JobState
    names = [s.value for s in JobState]
    s = text.lower().removeprefix("job_")
    if s not in names:
        raise InvalidInput(f"unknown job state {text!r}",
                           f"use one of {', '.join(names)} (or JOB_SUCCESS, ...)")
    return s


def _history(text: str) -> int:
    """pachctl's ParseHistory: none (0), all (-1) or a number of earlier versions."""
    if text in ("none", "all"):
        return 0 if text == "none" else -1
    if not re.fullmatch(r"-?\d+", text) or int(text) < -1:
        raise InvalidInput(f"invalid --history {text!r}", "use none, all or a number of versions")
    return int(text)


@list_.command("job")
@click.argument("job_set", metavar="[JOB_SET]", required=False)
@click.option("-p", "--pipeline", help="Limit to jobs made by pipeline.")
@click.option("-i", "--input", "inputs", multiple=True, metavar="REPO@BRANCH_OR_COMMIT",
              help="List jobs with a specific set of input commits; repeatable.")
@click.option("--history", default="none", show_default=True,
              help="Return jobs from historical versions of pipelines: none (the current "
                   "version), all, or a number of earlier versions.")
@click.option("--state", "states", multiple=True,
              help="Return only jobs with the specified state (e.g. success, JOB_FAILURE). Can "
                   "be repeated to include multiple states.")
@raw_option
@project_option
@click.option("-A", "--all-projects", is_flag=True, help="List the jobs of every project.")
def list_job(job_set: str | None, pipeline: str | None, inputs: tuple[str, ...], history: str,
             states: tuple[str, ...], raw: bool, all_projects: bool) -> None:
    """Return info about jobs, newest first: a project's (or a pipeline's), or the jobs of a job
    set (a commit set's id) in every project, upstream first."""
    from pachlite.cli.output import parse_address
    from pachlite.pps import api
    from pachlite.store import pipelines
    back = _history(history)
    wanted = {_state(s) for s in states}
    pfs = open_pfs()
    commits = {pfs.resolve(parse_address(i, path_allowed=False)).key for i in inputs}
    current = {p.name: p.version for p in pipelines.list_pipelines(pfs.store)}
    jobs = []
    found = api.list_job_set(pfs, job_set) if job_set else \
        api.list_job(pfs, pipeline and name_key(pipeline, "pipeline"),
                     None if all_projects or pipeline else project_or_default())
    for j in found:
        if not job_set and back != -1 and j.version < current.get(j.pipeline, j.version) - back:
            continue  # a job of an older version of its pipeline (pachd's ListJob history)
        if (wanted and j.state not in wanted) or not commits <= {c for _, _, c in j.inputs}:
            continue
        jobs.append(j)
    if raw:
        return rawjson.emit(map(rawjson.job_info, jobs))
    click.echo(pretty.table(
        ["PROJECT", "PIPELINE", "ID", "STARTED", "DURATION", "PROGRESS", "DL", "UL", "STATE"],
        [(*split_key(j.pipeline), j.id, pretty.ago(j.started), pretty.duration(j.duration), j.progress,
          pretty.size(j.bytes_in), pretty.size(j.bytes_out), j.state) for j in jobs]))


@inspect.command("job")
@click.argument("job_addr", metavar="PIPELINE@JOB")
@raw_option
@project_option
def inspect_job(job_addr: str, raw: bool) -> None:
    """Return info about a job: state, reason, counts, bytes, timings, input and output commits."""
    from pachlite.pps import api
    pipeline, jid = parse_job(job_addr)
    pfs = open_pfs()
    _print_job(pfs, api.inspect_job(pfs, pipeline, jid), raw)


@wait.command("job")
@click.argument("job_addr", metavar="PIPELINE[@JOB]")
@raw_option
@project_option
def wait_job(job_addr: str, raw: bool) -> None:
    """Wait for a job to end (another process may be running it), then show it."""
    from pachlite.pps.commitset import wait_job
    pipeline, jid = parse_job(job_addr)
    pfs = open_pfs()
    _print_job(pfs, wait_job(pfs, pipeline, jid), raw)


def _print_job(pfs, j, raw: bool) -> None:
    if raw:
        return rawjson.emit(rawjson.job_info(j))
    click.echo("\n".join([
        f"ID: {j.id}", f"Pipeline: {split_key(j.pipeline)[1]}", f"Project: {split_key(j.pipeline)[0]}",
        f"State: {j.state}",
        f"Reason: {j.reason or '-'}", f"Started: {pretty.ago(j.started)}",
        f"Duration: {pretty.duration(j.duration)}",
        f"Datums: {j.processed} processed, {j.skipped} skipped, {j.failed} failed, "
        f"{j.recovered} recovered, {j.total} total",
        f"Data downloaded: {pretty.size(j.bytes_in)}", f"Data uploaded: {pretty.size(j.bytes_out)}",
        "Inputs: " + ", ".join(f"{r}@{b}={pfs.commit_id(c)}" for r, b, c in j.inputs),
        f"Output commit: {j.pipeline}@{j.id}" if j.output_commit else "Output commit: -"]))


@stop.command("job")
@click.argument("job_addr", metavar="PIPELINE@JOB")
@project_option
def stop_job(job_addr: str) -> None:
    """Stop a job. The job will be stopped immediately: it ends killed, keeping the datums it
    finished (the next run finishes the rest)."""
    from pachlite.pps.pipeline import stop_job as stop_
    pipeline, jid = parse_job(job_addr)
    if not jid:
        raise InvalidInput(f"{job_addr!r} names no job", "write it as pipeline@job")
    stop_(open_pfs(), pipeline, jid)


_UNITS = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def _since(text: str) -> float:
    """A Go duration (24h, 1h30m, 90s, 0 for all): seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)", text)
    if text == "0":
        return 0.0
    if not parts or "".join(n + u for n, u in parts) != text:
        raise InvalidInput(f"invalid --since {text!r}", "give a duration like 24h, 30m or 1h30m")
    return sum(float(n) * _UNITS[u] for n, u in parts)


@cli.command("logs")
@click.option("-p", "--pipeline", help="Filter the log for lines from this pipeline (accepts "
              "pipeline name).")
@click.option("-j", "--job", "job_id", help="Filter for log lines from this job (accepts job ID, "
              "a unique prefix of it, or PIPELINE@JOB).")
@click.option("--datum", "datum_id", help="Filter for log lines for this datum (accepts datum ID).")
@click.option("-f", "--follow", is_flag=True, help="Follow logs as more are created: the job's "
              "datums as they finish, until the job ends (with -p alone, the pipeline's next "
              "jobs too, until Ctrl-C).")
@click.option("-t", "--tail", type=int, default=0, help="Lines of recent logs to display.")
@click.option("--since", default="24h", show_default=True,
              help="Return log messages more recent than \"since\" (a duration; as in pachctl, "
                   "only when given: without it, all of them).")
@click.option("--raw", is_flag=True, help="Return log messages verbatim: one LogMessage JSON "
              "object per line, as pachd sends them.")
@project_option
@click.pass_context
def logs(ctx: click.Context, pipeline: str | None, job_id: str | None, datum_id: str | None,
         follow: bool, tail: int, since: str, raw: bool) -> None:
    """Return logs from a job: the user code's stdout and stderr, per datum (the pipeline's
    latest job by default)."""
    import json

    from pachlite.pfs.address import split_key
    from pachlite.pps import api
    if job_id and "@" in job_id:
        pipeline, job_id = parse_job(job_id)
    if not pipeline:
        raise InvalidInput("logs needs a pipeline", "pass -p PIPELINE or --job PIPELINE@JOB")
    # pachctl applies --since only when it is given (its default is shown, not used).
    given = ctx.get_parameter_source("since") is not click.core.ParameterSource.DEFAULT
    age = _since(since) if given else 0.0
    pfs = open_pfs()
    shown: set[tuple[str, str]] = set()
    first = True
    try:
        while True:
            job = api.inspect_job(pfs, name_key(pipeline, "pipeline"), job_id)
            finished = {d.id: (d.started or 0) + (d.duration or 0)
                        for d in api.list_datum(pfs, job)} if age else {}  # (only --since reads it)
            lines = []
            for did, text in api.logs(pfs, job, datum_id):
                if (job.id, did) in shown or (age and finished.get(did, time.time()) < time.time() - age):
                    continue
                shown.add((job.id, did))
                if raw:  # pachd's LogMessage, as jsonpb writes it (JSON names, one line)
                    lines += [json.dumps({"projectName": split_key(job.pipeline)[0],
                                          "pipelineName": split_key(job.pipeline)[1],
                                          "jobId": job.id, "datumId": did, "user": True,
                                          "message": line}) for line in text.splitlines()]
                else:
                    lines += [f"[{did[:12]}] {line}" for line in text.splitlines()]
            if tail and first:  # --tail picks the recent lines; -f then adds new ones
                lines = lines[-tail:]
            first = False
            for line in lines:
                click.echo(line)
            if not follow or (job_id and job.state not in ("running", "created")) or reader_gone():
                return
            time.sleep(0.25)
    except KeyboardInterrupt:
        return  # Ctrl-C ends -f, as it ends pachctl logs -f
