"""`--raw`: what pachlite reports, as the protobuf JSON pachctl prints with --raw.

pachctl encodes each pachd message with protojson (UseProtoNames, indent 2: cmdutil.Encoder),
one message per item, one after another. So field names are the .proto names (snake_case),
int64 fields are strings, enums are their names, timestamps RFC 3339 in UTC, bytes base64, and a
field holding its zero value is left out. Each function here builds one message as a dict;
tests parse every one with pachd's own generated classes.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import re
from collections.abc import Iterable

import click

from pachlite.pfs.address import split_key

PROJECT = "default"  # pachd's first project, where a repo key without a project lives


def job_state(state: str) -> str:
    """pachd's name of a job state: success is JOB_SUCCESS (pps/states.py keeps the short one)."""
    return f"JOB_{state.upper()}"


def emit(messages: dict | Iterable[dict]) -> None:
    """Print one message, or each of several, as pachctl's --raw does: JSON objects one after
    another, or with -o yaml, YAML documents (keys sorted, as Go's yaml.v3 writes a map).

    JSON is orjson's: json.dumps with an indent takes the pure-Python encoder, ~50 µs a
    FileInfo (`list file --raw` of 10^6 files took 98 s, 17 s now). Messages are written a
    thousand at a time. (orjson writes floats as Go's protojson does: 1e-7, not Python's 1e-07.)"""
    ctx = click.get_current_context(silent=True)
    yaml_out = ctx is not None and (ctx.meta.get("raw.output") or "").lower() == "yaml"
    items = [messages] if isinstance(messages, dict) else messages
    if not yaml_out:
        import orjson
        chunk: list[bytes] = []
        for m in items:
            chunk.append(orjson.dumps(m, option=orjson.OPT_INDENT_2))
            if len(chunk) == 1000:
                click.echo(b"\n".join(chunk))
                chunk = []
        if chunk:
            click.echo(b"\n".join(chunk))
        return
    import yaml
    for i, m in enumerate(items):
        click.echo(("---\n" if i else "") + yaml.dump(m, Dumper=_yaml_dumper(), sort_keys=True,
                                                      allow_unicode=True), nl=False)


def _yaml_dumper():
    import yaml

    class Indented(yaml.SafeDumper):
        """Lists indented under their key, as yaml.v3 with pachctl's indent of 2 writes them."""

        def increase_indent(self, flow: bool = False, indentless: bool = False):
            return super().increase_indent(flow, False)
    return Indented


def _clean(d: dict) -> dict:
    """protojson leaves out fields that hold their zero value: None, "", 0, "0" (an int64),
    False, [] and {}."""
    return {k: v for k, v in d.items() if v and v != "0"}


def timestamp(t: float | None) -> str | None:
    """google.protobuf.Timestamp as protojson writes it: UTC, 0, 3, 6 or 9 fraction digits."""
    if t is None:
        return None
    micros = round(t * 1e6)
    secs, frac = divmod(micros, 1_000_000)
    s = dt.datetime.fromtimestamp(secs, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        s += f".{frac:06d}"[:4] if frac % 1000 == 0 else f".{frac:06d}"
    return s + "Z"


def duration(seconds: float | None) -> str | None:
    """google.protobuf.Duration as protojson writes it: "1.500s"."""
    if not seconds:
        return None
    micros = round(seconds * 1e6)
    secs, frac = divmod(micros, 1_000_000)
    if not frac:
        return f"{secs}s"
    return f"{secs}.{frac:06d}"[:-3] + "s" if frac % 1000 == 0 else f"{secs}.{frac:06d}s"


def project(name: str = PROJECT) -> dict:
    return {"name": name}


def repo(key: str) -> dict:
    """A repo by its store key (`name`, or `project/name` outside the default project).
    A pipeline's output repo is a "user" repo in pachd too (its "spec" and "meta" repos are the
    other types, which pachlite does not have)."""
    proj, name = split_key(key)
    return {"name": name, "type": "user", "project": project(proj)}


def pipeline_ref(key: str) -> dict:
    proj, name = split_key(key)
    return {"project": project(proj), "name": name}


def branch(repo_name: str, name: str) -> dict:
    return {"repo": repo(repo_name), "name": name}


def commit(repo_name: str, cid: str, branch_name: str | None = None) -> dict:
    return _clean({"repo": repo(repo_name), "id": cid,
                   "branch": branch(repo_name, branch_name) if branch_name else None})


# A listing's FileInfos and DatumInfos name few commits: each one's message is made once (and
# only read after).
_listed_commit = functools.lru_cache(maxsize=64)(commit)


def project_info(name: str = PROJECT, created: float | None = None, description: str = "") -> dict:
    return _clean({"project": {"name": name}, "description": description,
                   "created_at": timestamp(created)})


def repo_info(r) -> dict:
    """A repo; RepoInfo.name is its name in its project, its key names it across projects."""
    return _clean({"repo": repo(r.key), "created": timestamp(r.created),
                   "size_bytes_upper_bound": str(r.size), "description": r.description,
                   "branches": [branch(r.key, b) for b in r.branches],
                   "details": _clean({"size_bytes": str(r.size)})})


def branch_info(b, provenance: Iterable[tuple[str, str]] = (),
                subvenance: Iterable[tuple[str, str]] = (), trigger: dict | None = None) -> dict:
    """A branch; provenance and subvenance are (repo, branch) pairs."""
    prov = [branch(r, n) for r, n in provenance]
    return _clean({"branch": branch(b.repo, b.name),
                   "head": commit(b.repo, b.head) if b.head else None,
                   "provenance": prov, "subvenance": [branch(r, n) for r, n in subvenance],
                   "direct_provenance": prov, "trigger": _clean(trigger or {})})


def commit_info(c, direct: Iterable[tuple[str, str | None, str]] | None = None) -> dict:
    """A commit; `direct` is its direct provenance (default: all it records)."""
    prov = c.provenance if direct is None else direct
    return _clean({
        "commit": commit(c.repo, c.id, c.branch),
        "origin": {"kind": c.origin},
        "description": c.description,
        "parent_commit": commit(c.repo, c.parent) if c.parent else None,
        "started": timestamp(c.started),
        "finishing": timestamp(c.finished),
        "finished": timestamp(c.finished),
        "direct_provenance": [commit(r, i, b) for r, b, i in prov],
        "error": c.error,  # a failed job's output commit: the job's reason
        "size_bytes_upper_bound": str(c.size) if c.finished else None,
        "details": _clean({"size_bytes": str(c.size)}) if c.finished else None,
    })


def direct_provenance(pfs, c) -> tuple:
    """A job's output commit records every commit it was computed from, transitively; pachd's
    direct_provenance names only those of the pipeline's own inputs."""
    from pachlite.errors import NotFound
    from pachlite.pps.pipeline import inspect_pipeline
    if c.origin != "AUTO":
        return c.provenance
    try:
        inputs = set(inspect_pipeline(pfs, c.repo).inputs)
    except NotFound:
        return c.provenance
    return tuple(p for p in c.provenance if p[0] in inputs)


def file_info(f, repo_name: str) -> dict:
    h = f.hash or ""  # a hex digest; pachd's FileInfo.hash is bytes, which JSON writes base64
    return _clean({
        "file": {"commit": _listed_commit(repo_name, f.commit), "path": f.path},
        "file_type": "DIR" if f.type == "dir" else "FILE",
        "size_bytes": str(f.size),
        "hash": base64.b64encode(bytes.fromhex(h)).decode() if _HEX(h) else None,
    })


_HEX = re.compile(r"(?:[0-9a-f]{2})+").fullmatch


def job(pipeline: str, jid: str) -> dict:
    return {"pipeline": pipeline_ref(pipeline), "id": jid}


def _stats(bytes_in: int, bytes_out: int, process: float | None = None) -> dict:
    return _clean({"process_time": duration(process), "download_bytes": str(bytes_in),
                   "upload_bytes": str(bytes_out)})


def job_info(j) -> dict:
    """A job (pachd's JobInfo), with the version of its pipeline that ran it."""
    return _clean({
        "job": job(j.pipeline, j.id),
        "pipeline_version": str(j.version),
        # The output commit is in the job's commit set: it has the job's id.
        "output_commit": commit(j.pipeline, j.id, "master") if j.output_commit else None,
        "data_processed": str(j.processed), "data_skipped": str(j.skipped),
        "data_total": str(j.total), "data_failed": str(j.failed),
        "data_recovered": str(j.recovered),
        "stats": _stats(j.bytes_in, j.bytes_out),
        "state": job_state(j.state),
        "reason": j.reason,
        "created": timestamp(j.created), "started": timestamp(j.started),
        "finished": timestamp(j.finished),
    })


def datum_info(d, pipeline: str) -> dict:
    data = []
    for text in d.inputs:  # repo@commit:/path
        head, _, path = text.partition(":")
        r, _, cid = head.partition("@")
        data.append({"file": {"commit": _listed_commit(r, cid), "path": path}})
    return _clean({
        "datum": {"job": job(pipeline, d.job_id), "id": d.id},
        "state": str(d.state).upper(),  # pachd's DatumState names: SUCCESS, SKIPPED, ...
        "stats": _stats(0, sum(size for _, _, size in d.outputs), d.duration),
        "data": data,
    })


def preview_datum_info(d) -> dict:
    """A datum a spec would make (pachctl list datum -f): its id and input files, no job yet."""
    return {"datum": {"id": d.id},
            "data": [{"file": {"commit": _listed_commit(di.repo, di.commit), "path": f.path}}
                     for di in d.inputs for f in di.files]}


# PipelineInfo.Details fields a spec may set (CreatePipelineRequest's names, in snake_case).
_DETAILS = {"transform", "tf_job", "parallelism_spec", "egress", "resource_requests",
            "resource_limits", "sidecar_resource_limits", "sidecar_resource_requests", "input",
            "description", "service", "spout", "datum_set_spec", "datum_timeout", "job_timeout",
            "datum_tries", "scheduling_spec", "pod_spec", "pod_patch", "s3_out", "metadata",
            "reprocess_spec", "autoscaling", "tolerations"}
# Fields whose values are maps with user-chosen keys: their keys are kept as written.
_MAPS = {"env", "node_selector", "annotations", "labels"}
# The spec's 64-bit integer fields, which protojson writes as strings.
_INT64 = {"constant", "datum_tries", "number", "size_bytes", "per_worker"}


def _snake(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


def _proto_names(v, keep: bool = False):
    """A spec's value as protojson writes it: proto names, 64-bit integers as strings, and
    fields holding their zero value left out."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            name = k if keep else _snake(k)
            x = _proto_names(x, not keep and name in _MAPS)
            if not keep and name in _INT64 and isinstance(x, (int, str)):
                x = str(int(x))
            if keep or x not in (None, "", 0, "0", False, [], {}):
                out[name] = x
        return out
    if isinstance(v, list):
        return [_proto_names(x) for x in v]
    return v


def pipeline_info(p) -> dict:
    """A pipeline: its spec's fields become PipelineInfo.details, as pachd stores them."""
    spec = _proto_names(p.spec)
    details = {k: v for k, v in spec.items() if k in _DETAILS}
    details.update(salt=p.salt, created_at=timestamp(p.created), output_branch="master")
    last = p.last_job
    kind = "PIPELINE_TYPE_SPOUT" if "spout" in spec else (
        "PIPELINE_TYPE_SERVICE" if "service" in spec else "PIPELINE_TYPE_TRANSFORM")
    return _clean({
        "pipeline": pipeline_ref(p.name),
        "version": str(p.version),
        "stopped": p.stopped,
        "state": "PIPELINE_PAUSED" if p.stopped else "PIPELINE_RUNNING",
        "last_job_state": job_state(last.state) if last else None,
        "parallelism": str((spec.get("parallelism_spec") or {}).get("constant") or 1),
        "type": kind,
        "details": _clean(details),
    })
