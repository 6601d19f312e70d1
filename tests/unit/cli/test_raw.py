"""`--raw` is pachctl's protobuf JSON: every message pachlite prints parses with pachd's own
generated classes (python-pachyderm 7.6), unknown fields refused, and carries the values the
library reports (ids, sizes, states, RFC 3339 timestamps)."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from google.protobuf.json_format import MessageToDict, Parse
from python_pachyderm.proto.v2.pfs import pfs_pb2
from python_pachyderm.proto.v2.pps import pps_pb2

from helpers import messages, pachlite, put
from pachlite.cli import raw
from pachlite.pfs.address import parse
from pachlite.pps import api, pipeline as pl

COPY = {"pipeline": {"name": "copy"}, "description": "copies",
        "input": {"pfs": {"repo": "data", "glob": "/*"}},
        "transform": {"cmd": ["sh", "-c", "cp -r /pfs/data/* /pfs/out/"], "env": {"MY_VAR": "1"}},
        "parallelismSpec": {"constant": 2}, "datumTries": 2}


def parsed(msg: dict, cls):
    """msg as pachd parses it (unknown fields refused), then back as pachctl would print it."""
    m = Parse(json.dumps(msg), cls(), ignore_unknown_fields=False)
    assert MessageToDict(m, preserving_proto_field_name=True) == msg  # nothing lost or renamed
    return m


def ts(m) -> float:
    return m.ToDatetime(tzinfo=dt.timezone.utc).timestamp()


@pytest.fixture
def ran(pfs):
    pfs.create_repo("data", "the input")
    put(pfs, "data", {"/a": "one", "/b": "three"})
    pl.create_pipeline(pfs, COPY)
    [r] = pl.run(pfs)
    return r.job


def test_timestamps_are_rfc3339_utc_with_protojson_precision():
    assert raw.timestamp(0) == "1970-01-01T00:00:00Z"
    assert raw.timestamp(1.5) == "1970-01-01T00:00:01.500Z"
    assert raw.timestamp(1.000123) == "1970-01-01T00:00:01.000123Z"
    assert raw.duration(2) == "2s" and raw.duration(0.25) == "0.250s"
    assert raw.duration(1.000001) == "1.000001s"
    assert raw.timestamp(None) is None and raw.duration(0) is None


def test_repo_branch_commit_and_file(pfs, ran):
    r = parsed(raw.repo_info(pfs.inspect_repo("data")), pfs_pb2.RepoInfo)
    assert (r.repo.name, r.repo.type, r.repo.project.name) == ("data", "user", "default")
    assert (r.description, r.details.size_bytes, r.size_bytes_upper_bound) == ("the input", 8, 8)
    assert [b.name for b in r.branches] == ["master"]
    assert ts(r.created) == pytest.approx(pfs.inspect_repo("data").created, abs=1e-6)

    c = pfs.resolve(parse("copy@master"))
    m = parsed(raw.commit_info(c), pfs_pb2.CommitInfo)
    assert (m.commit.id, m.commit.branch.name, m.commit.repo.name) == (c.id, "master", "copy")
    assert m.origin.kind == pfs_pb2.OriginKind.AUTO and m.details.size_bytes == 8
    assert ts(m.started) == pytest.approx(c.started, abs=1e-6)
    assert ts(m.finished) == pytest.approx(c.finished, abs=1e-6)
    data_head = pfs.resolve(parse("data@master")).id
    assert [(p.repo.name, p.id) for p in m.direct_provenance] == [("data", data_head)]

    first = pfs.list_commit("data")[-1]
    m = parsed(raw.commit_info(first), pfs_pb2.CommitInfo)
    assert not m.HasField("parent_commit") and m.origin.kind == pfs_pb2.OriginKind.USER

    b = parsed(raw.branch_info(pfs.inspect_branch("data", "master")), pfs_pb2.BranchInfo)
    assert (b.branch.name, b.head.id) == ("master", data_head)

    f = pfs.inspect_file(parse("data@master:/b"))
    m = parsed(raw.file_info(f, "data"), pfs_pb2.FileInfo)
    assert (m.file.path, m.file.commit.id, m.size_bytes) == ("/b", data_head, 5)
    assert m.file_type == pfs_pb2.FileType.FILE and m.hash == bytes.fromhex(f.hash)
    d = parsed(raw.file_info(next(pfs.list_file(parse("copy@master"))), "copy"), pfs_pb2.FileInfo)
    assert d.file_type == pfs_pb2.FileType.FILE
    assert base64.b64decode(raw.file_info(f, "data")["hash"]) == bytes.fromhex(f.hash)


def test_job_datum_and_pipeline(pfs, ran):
    j = parsed(raw.job_info(ran), pps_pb2.JobInfo)
    assert (j.job.id, j.job.pipeline.name, j.job.pipeline.project.name) == (ran.id, "copy", "default")
    assert j.state == pps_pb2.JobState.JOB_SUCCESS and j.pipeline_version == 1
    assert (j.data_processed, j.data_skipped, j.data_total, j.data_failed) == (2, 0, 2, 0)
    assert j.output_commit.id == ran.output_commit and j.stats.upload_bytes == ran.bytes_out
    assert ts(j.finished) == pytest.approx(ran.finished, abs=1e-6)

    ds = list(api.list_datum(pfs, ran))
    m = parsed(raw.datum_info(ds[0], "copy"), pps_pb2.DatumInfo)
    assert (m.datum.id, m.datum.job.id) == (ds[0].id, ran.id)
    assert m.state == pps_pb2.DatumState.SUCCESS
    assert [(f.file.commit.repo.name, f.file.path) for f in m.data] == [("data", "/a")]

    p = parsed(raw.pipeline_info(api.inspect_pipeline(pfs, "copy")), pps_pb2.PipelineInfo)
    assert (p.pipeline.name, p.version, p.state) == ("copy", 1, pps_pb2.PipelineState.PIPELINE_RUNNING)
    assert p.last_job_state == pps_pb2.JobState.JOB_SUCCESS and p.parallelism == 2
    assert p.type == pps_pb2.PipelineInfo.PipelineType.PIPELINE_TYPE_TRANSFORM
    assert list(p.details.transform.cmd) == COPY["transform"]["cmd"]
    assert dict(p.details.transform.env) == {"MY_VAR": "1"}  # a map's keys are kept as written
    assert (p.details.input.pfs.repo, p.details.input.pfs.glob) == ("data", "/*")
    assert (p.details.description, p.details.datum_tries, p.details.output_branch) == ("copies", 2, "master")
    pl.stop_pipeline(pfs, "copy")
    stopped = parsed(raw.pipeline_info(api.inspect_pipeline(pfs, "copy")), pps_pb2.PipelineInfo)
    assert stopped.stopped and stopped.state == pps_pb2.PipelineState.PIPELINE_PAUSED

    proj = parsed(raw.project_info(), pfs_pb2.ProjectInfo)
    assert proj.project.name == "default"


LISTS = [(["list", "repo"], pfs_pb2.RepoInfo, 2), (["list", "branch", "data"], pfs_pb2.BranchInfo, 1),
         (["list", "commit", "data"], pfs_pb2.CommitInfo, 1),
         (["list", "file", "data@master"], pfs_pb2.FileInfo, 2),
         (["glob", "file", "data@master:/*"], pfs_pb2.FileInfo, 2),
         (["list", "job"], pps_pb2.JobInfo, 1), (["list", "pipeline"], pps_pb2.PipelineInfo, 1),
         (["inspect", "repo", "data"], pfs_pb2.RepoInfo, 1),
         (["inspect", "branch", "data@master"], pfs_pb2.BranchInfo, 1),
         (["inspect", "commit", "copy@master"], pfs_pb2.CommitInfo, 1),
         (["inspect", "file", "data@master:/a"], pfs_pb2.FileInfo, 1),
         (["inspect", "pipeline", "copy"], pps_pb2.PipelineInfo, 1)]


@pytest.mark.parametrize("args,cls,n", LISTS, ids=[" ".join(a[:2]) for a, _, _ in LISTS])
def test_every_raw_output_is_one_pachd_message_per_item(pfs, ran, args, cls, n):
    out = pachlite(pfs, *args, "--raw")
    found = messages(out)
    assert len(found) == n
    for msg in found:
        parsed(msg, cls)


def test_a_spec_preview_prints_datum_infos(pfs, ran, tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({**COPY, "pipeline": {"name": "other"}}))
    found = messages(pachlite(pfs, "list", "datum", "-f", str(spec), "--raw"))
    head = pfs.resolve(parse("data@master")).id
    assert [[(f.file.commit.id, f.file.path) for f in parsed(m, pps_pb2.DatumInfo).data]
            for m in found] == [[(head, "/a")], [(head, "/b")]]


def test_job_and_datum_verbs_print_their_messages(pfs, ran):
    [j] = messages(pachlite(pfs, "inspect", "job", f"copy@{ran.id}", "--raw"))
    assert parsed(j, pps_pb2.JobInfo).job.id == ran.id
    ds = messages(pachlite(pfs, "list", "datum", f"copy@{ran.id}", "--raw"))
    assert [parsed(d, pps_pb2.DatumInfo).datum.job.id for d in ds] == [ran.id, ran.id]
    [d] = messages(pachlite(pfs, "inspect", "datum", f"copy@{ran.id}", ds[1]["datum"]["id"], "--raw"))
    assert parsed(d, pps_pb2.DatumInfo).data[0].file.path == "/b"


def test_fields_at_their_zero_value_are_left_out_as_protojson_leaves_them():
    kept = {"s": "x", "n": 2, "int64": "10", "t": True, "l": [0], "d": {"a": 1}, "f": 0.5}
    zero = {"none": None, "empty": "", "n": 0, "int64": "0", "f": False, "l": [], "d": {}, "x": 0.0}
    assert raw._clean({**zero, **kept}) == kept


def test_a_listing_longer_than_a_write_prints_every_message_indented_as_pachctl(pfs):
    """2,500 FileInfos (three writes of up to a thousand): each message whole, in path order,
    indented by two spaces, non-ASCII names as UTF-8, one message a JSON object after another."""
    pfs.create_repo("many")
    names = [f"/f{i:04d}" for i in range(2499)] + ["/Ünïcode ✓"]
    put(pfs, "many", {n: n[1:] for n in names})
    out = pachlite(pfs, "list", "file", "many@master", "--raw")
    found = messages(out)
    assert [m["file"]["path"] for m in found] == sorted(names)
    assert out == "\n".join(json.dumps(m, indent=2, ensure_ascii=False)
                            for m in found) + "\n"
    assert '"path": "/Ünïcode ✓"' in out
    for m in found[::500]:
        parsed(m, pfs_pb2.FileInfo)
