"""The store's integrity: fsck on stores that ran pipelines, the format-3 and format-4 migrations, damaged
objects (refused on read, healed by a re-put), gc, races between writers, streaming appends, and
the messages for a full disk, a read-only store and a lost database."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import site
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import tracemalloc
from contextlib import closing
from pathlib import Path

import pytest

import pachlite
from helpers import PACHLITE, damage_inline_object, datums, get, logs, put
from pachlite.errors import Conflict, NotFound, PachliteError
from pachlite.pfs import PFS, Source
from pachlite.pfs.address import parse
from pachlite.pps import pipeline as pl
from pachlite.store import FORMAT_VERSION, INLINE_MAX, CorruptObject, Store, fsck, gc, hash_bytes
from pachlite.store.db import MAX_PARAMETERS, ROWS_PER_STATEMENT, DiskFull, ReadOnly
from pachlite.store.objects import MissingObject

BIG = INLINE_MAX + 1
COPY = ["sh", "-c", "cp -r /pfs/data/* /pfs/out/"]


def spec(name: str, repo: str = "data", cmd=COPY) -> dict:
    return {"pipeline": {"name": name}, "input": {"pfs": {"repo": repo, "glob": "/*"}},
            "transform": {"cmd": cmd}}


def ran_pipelines(pfs: PFS) -> None:
    """Two pipelines in a chain, run: commits with provenance, datums, logs."""
    pfs.create_repo("data")
    put(pfs, "data", {"/a": "1", "/b": "2", "/big": b"x" * BIG})
    pl.create_pipeline(pfs, spec("copy"))
    pl.create_pipeline(pfs, spec("again", "copy", ["sh", "-c", "echo said; cp -r /pfs/copy/* /pfs/out/"]))
    pl.run(pfs)


def damage_file(store: Store, data: bytes) -> Path:
    """Flip one byte of the large object holding `data` (same size: only its hash tells)."""
    p = next(p for p in store.objects_dir.rglob("*") if p.is_file() and p.read_bytes() == data)
    os.chmod(p, 0o644)
    with open(p, "r+b") as f:
        f.write(bytes([data[0] ^ 1]))
    return p


# ---- fsck and the provenance table ------------------------------------------------------------

def test_fsck_is_clean_after_pipelines_ran(pfs):
    ran_pipelines(pfs)
    assert pfs.resolve(parse("again@master")).provenance  # provenance rows exist
    assert fsck(pfs.store) == []


def sha256_datum_id(inputs_json: str) -> str:
    """A datum's ID as format 6 (and before) recorded it: sha256 over pachd's framing."""
    return hashlib.sha256(b"".join(f.encode() + struct.pack(">q", len(f.encode()))
                                   for fields in json.loads(inputs_json) for f in fields)).hexdigest()


def make_format_9(db: sqlite3.Connection) -> None:
    """Turn a store back into format 9's: no first job's records in runs (none made here)."""
    assert db.execute("SELECT 1 FROM datum_layers WHERE id LIKE '%.%'").fetchone() is None
    db.execute("UPDATE meta SET value='9' WHERE key='format_version'")


def make_format_8(db: sqlite3.Connection) -> None:
    """Turn a store's tables back into format 8's: no staged layers."""
    make_format_9(db)
    assert db.execute("SELECT 1 FROM staged").fetchone() is None
    db.execute("DROP TABLE staged")
    db.execute("UPDATE meta SET value='8' WHERE key='format_version'")


def make_format_7(db: sqlite3.Connection) -> None:
    """Turn a store's tables back into format 7's: every commit's full file list, no layers (an
    open commit's size 0)."""
    make_format_8(db)
    db.execute("CREATE TABLE files_7(commit_id TEXT NOT NULL, path TEXT NOT NULL, "
               "hash TEXT NOT NULL, size INTEGER NOT NULL, PRIMARY KEY(commit_id, path)) WITHOUT ROWID")
    # The row of each path in its commit's highest layer (SQLite's bare columns of MAX()).
    db.execute("INSERT INTO files_7 SELECT commit_id, path, hash, size FROM (SELECT l.commit_id, "
               "f.path, f.hash, f.size, MAX(l.depth) FROM commit_layers l JOIN files f ON "
               "f.layer=l.layer GROUP BY l.commit_id, f.path) WHERE hash != ''")
    # (A job layered on its base's records has no format-7 form: none is made before this.)
    assert db.execute("SELECT 1 FROM job_layers").fetchone() is None
    for stmt in ("DROP TABLE job_layers", "DROP TABLE datum_layers",
                 "DROP TABLE files", "DROP TABLE commit_layers", "DROP TABLE layers",
                 "ALTER TABLE files_7 RENAME TO files", "UPDATE commits SET size=0 WHERE finished IS NULL",
                 "UPDATE meta SET value='7' WHERE key='format_version'"):
        db.execute(stmt)


def make_format_6(db: sqlite3.Connection) -> None:
    """Turn a store's tables back into format 6's: no commit sets, no commit errors, and datum
    IDs the sha256 of the framing (in the rows of the datums a job ran and in the rows carried)."""
    make_format_7(db)
    for stmt in ("DROP INDEX commits_set", "ALTER TABLE commits DROP COLUMN commit_set",
                 "ALTER TABLE commits DROP COLUMN error", "DROP INDEX jobs_set",
                 "ALTER TABLE jobs DROP COLUMN commit_set"):
        db.execute(stmt)
    old = {i: sha256_datum_id(inputs) for i, inputs in
           db.execute("SELECT id, inputs FROM datums WHERE inputs != ''")}
    db.executemany("UPDATE datums SET id=? WHERE id=?", [(o, n) for n, o in old.items()])
    db.execute("UPDATE meta SET value='6' WHERE key='format_version'")


OLD_PROVENANCE = """CREATE TABLE provenance(
    commit_id TEXT NOT NULL, repo TEXT NOT NULL, branch TEXT, prov_commit TEXT NOT NULL,
    PRIMARY KEY(commit_id, prov_commit)) WITHOUT ROWID"""


def test_a_format_3_store_is_migrated_in_place_and_then_clean(tmp_path):
    root = tmp_path / "store"
    pfs = PFS(Store(root))
    ran_pipelines(pfs)
    prov = pfs.resolve(parse("again@master")).provenance
    pfs.store.close()
    # Make it a format-3 store: the provenance table of format 3, with the same rows.
    db = sqlite3.connect(root / "pachlite.db", isolation_level=None)
    db.execute("BEGIN")
    make_format_6(db)
    db.execute("ALTER TABLE provenance RENAME TO p4")
    db.execute(OLD_PROVENANCE)
    db.execute("INSERT INTO provenance SELECT commit_id, repo, branch, prov_commit FROM p4")
    db.execute("DROP TABLE p4")
    db.execute("DROP TABLE projects")  # (format 5's)
    db.execute("DROP TABLE triggers")  # (format 6's)
    db.execute("DROP TABLE branch_provenance")
    db.execute("UPDATE meta SET value='3' WHERE key='format_version'")
    db.execute("COMMIT")
    # SQLite 3.40 reports the false positive on this layout (newer SQLite may not).
    old_check = [r[0] for r in db.execute("PRAGMA quick_check")]
    db.close()

    store = Store(root)
    try:
        pfs = PFS(store)
        assert store.one("SELECT value FROM meta WHERE key='format_version'")[0] == str(FORMAT_VERSION)
        assert pfs.resolve(parse("again@master")).provenance == prov
        assert fsck(store) == [], old_check
        pl.run(pfs)  # and the migrated store keeps working
        put(pfs, "data", {"/c": "3"})
        pl.run(pfs)
        assert get(pfs, "again@master:/c") == b"3"
        assert fsck(store) == []
    finally:
        store.close()


def test_a_format_6_store_gets_commit_sets_and_pachds_datum_ids_and_stays_incremental(tmp_path):
    root = tmp_path / "store"
    pfs = PFS(Store(root))
    ran_pipelines(pfs)
    heads = {r: pfs.resolve(parse(f"{r}@master")).key for r in ("data", "copy", "again")}
    pfs.store.close()
    db = sqlite3.connect(root / "pachlite.db", isolation_level=None)
    db.execute("BEGIN")
    make_format_6(db)
    db.execute("COMMIT")
    old_ids = {r[0] for r in db.execute("SELECT id FROM datums")}
    db.close()

    store = Store(root)
    try:
        pfs = PFS(store)
        assert store.one("SELECT value FROM meta WHERE key='format_version'")[0] == str(FORMAT_VERSION)
        # Each commit and job of format 6 is a commit set of its own: the id it had.
        for repo, key in heads.items():
            c = pfs.resolve(parse(f"{repo}@master"))
            assert (c.id, c.key, c.error) == (key, key, "")
        # Every datum ID is now pachd's (BLAKE2b), in the rows that ran and the rows carried.
        rows = store.db.execute("SELECT d.id, r.inputs FROM datums d JOIN datum_records r ON "
                                "r.job_id=d.job_id AND r.id=d.id").fetchall()
        assert rows and not {i for i, _ in rows} & old_ids
        assert all(i == hashlib.blake2b(b"".join(
            f.encode() + struct.pack(">q", len(f.encode()))
            for fields in json.loads(inputs) for f in fields), digest_size=32).hexdigest()
            for i, inputs in rows)
        # A re-run skips what the old code processed: only the new file runs.
        put(pfs, "data", {"/c": "3"})
        results = {r.pipeline: r.job for r in pl.run(pfs)}
        assert (results["copy"].processed, results["copy"].skipped) == (1, 3)
        assert (results["again"].processed, results["again"].skipped) == (1, 3)
        assert get(pfs, "again@master:/c") == b"3"
        assert fsck(store) == []
    finally:
        store.close()


def test_fsck_names_a_repo_whose_project_is_gone(pfs):
    pfs.create_project("p1")
    pfs.create_repo("p1/r")
    pfs.create_repo("r")
    with pfs.store.transaction() as tx:
        tx.execute("DELETE FROM projects WHERE name='p1'")
    assert fsck(pfs.store) == ["repo p1/r belongs to a missing project"]


def test_a_format_4_store_moves_into_the_default_project_fully_usable(tmp_path):
    """data/format4.db.gz was made by pachlite at format 4 (before projects): repo `data` with
    /a and /b, pipeline `copy` (cp /pfs/data/* to /pfs/out) run once."""
    root = tmp_path / "store"
    root.mkdir()
    with gzip.open(Path(__file__).parent / "data" / "format4.db.gz") as src:
        (root / "pachlite.db").write_bytes(src.read())
    store = Store(root)
    try:
        pfs = PFS(store)
        assert store.one("SELECT value FROM meta WHERE key='format_version'")[0] == str(FORMAT_VERSION)
        assert [p.name for p in pfs.list_project()] == ["default"]
        assert {(r.project, r.name) for r in pfs.list_repo("default")} == {("default", "data"),
                                                                             ("default", "copy")}
        assert [p.name for p in pl.list_pipeline(pfs, "default")] == ["copy"]
        assert get(pfs, "copy@master:/a") == b"1"
        assert fsck(store) == []
        put(pfs, "data", {"/c": "3"})  # the migrated pipeline keeps running
        assert [r.action for r in pl.run(pfs)] == ["ran"]
        assert get(pfs, "copy@master:/c") == b"3"
        pfs.create_project("p1")  # and a repo of the same name in a new project is another repo
        pfs.create_repo("p1/data")
        assert pfs.inspect_repo("p1/data").size == 0 and pfs.inspect_repo("data").size > 0
        assert fsck(store) == []
    finally:
        store.close()


def old_store(tmp_path, downgrade) -> Path:
    """A store with repo r holding /a, made an older format's by downgrade(its database)."""
    root = tmp_path / "store"
    pfs = PFS(Store(root))
    pfs.create_repo("r")
    put(pfs, "r", {"/a": "1"})
    pfs.store.close()
    db = sqlite3.connect(root / "pachlite.db", isolation_level=None)
    downgrade(db)
    db.close()
    return root


def make_format_5(db: sqlite3.Connection) -> None:
    make_format_6(db)
    db.execute("DROP TABLE triggers")  # a format-5 store has neither table
    db.execute("DROP TABLE branch_provenance")
    db.execute("UPDATE meta SET value='5' WHERE key='format_version'")


def test_a_format_5_store_gains_branch_triggers_in_place(tmp_path):
    root = old_store(tmp_path, make_format_5)
    store = Store(root)
    try:
        pfs = PFS(store)
        from pachlite.store.branch_links import TriggerRow
        pfs.create_branch("r", "prod", trigger=TriggerRow("r", "prod", "master", "", 1, False))
        put(pfs, "r", {"/b": "2"})
        assert pfs.inspect_branch("r", "prod").head == pfs.resolve(parse("r@master")).id
        assert get(pfs, "r@prod:/a") == b"1" and fsck(store) == []
    finally:
        store.close()


def test_a_format_9_store_opens_as_the_current_format_and_its_first_jobs_write_runs(tmp_path,
                                                                                  monkeypatch):
    from pachlite.pps import pipeline as pl, records
    from pachlite.store import datums
    root = old_store(tmp_path, make_format_9)
    store = Store(root)
    try:
        pfs = PFS(store)
        assert store.one("SELECT value FROM meta WHERE key='format_version'")[0] == str(FORMAT_VERSION)
        monkeypatch.setattr(records, "FLUSH_ROWS", 1)
        monkeypatch.setattr(records, "RUN_ROWS", 1)
        pl.create_pipeline(pfs, {"pipeline": {"name": "copy"}, "input": {"pfs": {"repo": "r", "glob": "/*"}},
                                 "transform": {"cmd": ["sh", "-c", "cp /pfs/r/* /pfs/out/"]}})
        [job] = [r.job for r in pl.run(pfs, workers=1)]
        assert (job.state, len(datums.stack(store, job.key))) == ("success", 2)  # a run, its layer
        assert get(pfs, "copy@master:/a") == b"1"
        assert fsck(store) == []
    finally:
        store.close()


def test_a_format_8_store_gains_staged_layers_in_place(tmp_path, monkeypatch):
    from pachlite.pfs import api
    root = old_store(tmp_path, make_format_8)
    store = Store(root)
    try:
        pfs = PFS(store)
        assert store.one("SELECT value FROM meta WHERE key='format_version'")[0] == str(FORMAT_VERSION)
        monkeypatch.setattr(api, "STAGE_ROWS", 2)  # a put of 3 files is staged
        put(pfs, "r", {"/b": "2", "/c": "3", "/d": "4"})
        assert [get(pfs, f"r@master:/{p}") for p in "abcd"] == [b"1", b"2", b"3", b"4"]
        assert fsck(store) == []
    finally:
        store.close()


@pytest.mark.parametrize("version", ["2", "99"])
def test_a_store_of_an_unknown_format_is_refused_in_one_line(tmp_path, version):
    Store(tmp_path / "s").close()
    db = sqlite3.connect(tmp_path / "s" / "pachlite.db", isolation_level=None)
    db.execute("UPDATE meta SET value=? WHERE key='format_version'", (version,))
    db.close()
    with pytest.raises(PachliteError, match=f"has format version {version}, this pachlite reads {FORMAT_VERSION}"):
        Store(tmp_path / "s")


# ---- damaged objects --------------------------------------------------------------------------

def test_a_damaged_object_is_refused_on_read_and_healed_by_a_re_put(pfs):
    pfs.create_repo("r")
    big = b"B" * BIG
    put(pfs, "r", {"/small": b"s", "/big": big})
    damage_file(pfs.store, big)
    damage_inline_object(pfs.store, size=1, data=b"t")
    for path in ("/small", "/big"):
        with pytest.raises(CorruptObject, match=rf"r@master:{path}\) is damaged.*put the file again"):
            get(pfs, f"r@master:{path}")
    assert len(fsck(pfs.store)) == 2
    assert all("held by r@master:/" in p for p in fsck(pfs.store))

    put(pfs, "r", {"/small": b"s", "/big": big})  # the same contents again
    assert get(pfs, "r@master:/small") == b"s" and get(pfs, "r@master:/big") == big
    assert fsck(pfs.store) == []


@pytest.mark.parametrize("width", [1, 3, 14, MAX_PARAMETERS // 2 + 1])
def test_insert_rows_writes_every_row_in_order_within_sqlites_parameter_limit(pfs, width):
    # Each statement holds at most MAX_PARAMETERS values: one row a statement for the widest.
    per = max(1, min(ROWS_PER_STATEMENT, MAX_PARAMETERS // width))
    rows = [tuple(i * width + c for c in range(width)) for i in range(3 * per + 5)]
    cols = ", ".join(f"c{c}" for c in range(width))
    with pfs.store.transaction() as tx:
        tx.execute(f"CREATE TEMP TABLE wide({cols})")
        try:
            assert tx.insert_rows("INSERT INTO wide VALUES", rows) == len(rows)
            assert [tuple(r) for r in tx.execute("SELECT * FROM wide ORDER BY rowid")] == rows
        finally:
            tx.execute("DROP TABLE wide")


def test_a_put_of_many_objects_stores_each_once_and_heals_a_damaged_one_past_the_first_hundreds(pfs):
    # More objects than one INSERT statement takes (ROWS_PER_STATEMENT), plus a remainder.
    n = 2 * ROWS_PER_STATEMENT + 3
    contents = [f"object {i}".encode() for i in range(n)]
    objs = [(hash_bytes(c), len(c), c) for c in contents]
    with pfs.store.transaction() as tx:
        tx.put_objects(objs[:-1])
    last = n - 2  # in the statement of the last rows, whichever way they fall
    with pfs.store.transaction() as tx:
        tx.execute("UPDATE objects SET data=? WHERE hash=?", (b"damaged", objs[last][0]))
    with pfs.store.transaction() as tx:
        tx.put_objects(objs + objs[:5])  # again, with the new one, some twice
    assert pfs.store.one("SELECT COUNT(*) FROM objects")[0] == n
    assert [pfs.store.read_object(h) for h, _, _ in objs] == contents
    assert fsck(pfs.store) == []


def test_get_file_of_a_damaged_object_exits_1_in_one_line(cli, tmp_path):
    big = tmp_path / "big"
    big.write_bytes(b"B" * BIG)
    cli("create", "repo", "r")
    cli("put", "file", "r@master:/big", "-f", str(big))
    with cli.lib() as pfs:
        damage_file(pfs.store, big.read_bytes())
    p = cli("get", "file", "r@master:/big", "-o", "out", ok=False)
    assert "r@master:/big) is damaged" in p.stderr


@pytest.mark.parametrize("size", [1, BIG], ids=["inline", "file"])
def test_a_job_does_not_feed_a_damaged_input_to_user_code(pfs, size):
    pfs.create_repo("data")
    content = b"7" * size
    put(pfs, "data", {"/a": content})
    pl.create_pipeline(pfs, spec("copy"))
    if size == 1:
        damage_inline_object(pfs.store, size=1, data=b"8")
    else:
        damage_file(pfs.store, content)
    with pytest.raises(CorruptObject, match="is damaged"):
        pl.run(pfs)
    [info] = pl.list_pipeline(pfs)
    assert info.last_job.state == "failure" and "is damaged" in info.last_job.reason
    [out] = pfs.list_commit("copy")  # no output made of damaged input: an errored commit
    assert (out.error, out.size, pfs.files(out.key)) == (info.last_job.reason, 0, [])


# ---- gc -----------------------------------------------------------------------------------------

def test_gc_removes_what_nothing_refers_to_and_keeps_the_rest(pfs):
    ran_pipelines(pfs)
    pfs.create_repo("old")
    put(pfs, "old", {"/gone": b"g" * BIG, "/small": b"only here"})
    pfs.delete_repo("old")
    stray = pfs.store.objects_dir / ".tmp-left-by-a-crash"
    stray.write_bytes(b"partial")
    logs_before = pl.list_pipeline(pfs)

    dry = gc(pfs.store, dry_run=True, min_age=0)
    assert (dry.objects, dry.size) == (3, BIG + len(b"only here") + len(b"partial"))
    assert stray.exists()
    assert gc(pfs.store, min_age=0) == dry
    assert not stray.exists()
    assert gc(pfs.store, min_age=0).objects == 0
    assert fsck(pfs.store) == []
    # What commits and datum logs refer to is still there and reads back.
    assert get(pfs, "again@master:/big") == b"x" * BIG
    assert pl.list_pipeline(pfs) == logs_before
    job = pl.inspect_pipeline(pfs, "again").last_job
    assert logs(pfs, job, datums(pfs, job)[0]["id"]) == ["said"]


def test_gc_keeps_recent_object_files_and_a_put_outliving_it_refuses(pfs):
    pfs.create_repo("r")
    # A put in flight: its object is written, its commit not yet.
    obj = pfs.store.read_content(io.BytesIO(b"n" * BIG))
    assert gc(pfs.store).objects == 0  # written just now: kept
    assert pfs.store.object_path(obj[0]).exists()
    assert gc(pfs.store, min_age=0).objects == 1  # a put that outlives the grace period...
    with pytest.raises(MissingObject, match="run the command again"):
        pfs.write_commit("r", "master", {"/n": obj[:2]}, [obj])  # ...refuses to commit it
    assert pfs.list_commit("r") == [] and fsck(pfs.store) == []


# ---- races --------------------------------------------------------------------------------------

class Gate(io.RawIOBase):
    """A stream that waits at its end until `release` is set: a put held between reading its
    files and writing its commit."""

    def __init__(self, data: bytes, reached: threading.Event, release: threading.Event):
        self.data, self.reached, self.release = io.BytesIO(data), reached, release

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        n = self.data.readinto(buf)
        if not n:
            self.reached.set()
            assert self.release.wait(30)
        return n


def test_put_racing_delete_repo_leaves_no_orphan_rows(tmp_path, open_pfs):
    root = tmp_path / "store"
    putter, deleter = open_pfs(root), open_pfs(root)
    putter.create_repo("r")
    reached, release = threading.Event(), threading.Event()
    errors = []

    def do_put():
        try:
            putter.put_files(parse("r@master"), [Source("/f", stream=Gate(b"data", reached, release))])
        except PachliteError as e:
            errors.append(e)
    t = threading.Thread(target=do_put)
    t.start()
    assert reached.wait(30)  # the put checked the repo and read its file...
    deleter.delete_repo("r")  # ...the repo goes...
    release.set()  # ...then the put writes its commit
    t.join(30)
    assert [type(e) for e in errors] == [NotFound] and "repo r not found" in str(errors[0])
    assert deleter.list_repo() == [] and fsck(deleter.store) == []
    assert deleter.store.query("SELECT * FROM commits") == []  # TODO(api): no orphan commit


def test_two_creates_of_one_pipeline_at_once_one_wins_the_other_is_told(tmp_path, open_pfs):
    root = tmp_path / "store"
    first = open_pfs(root)
    first.create_repo("data")
    put(first, "data", {"/a": "1"})
    def create(lib, name, start, outcomes):
        start.wait(30)
        try:
            pl.create_pipeline(lib, spec(name))
            outcomes.append("created")
        except PachliteError as e:
            outcomes.append(e)

    for name in ("p1", "p2", "p3", "p4", "p5"):
        start = threading.Barrier(2)  # both creates start together
        outcomes: list = []
        threads = [threading.Thread(target=create, args=(open_pfs(root), name, start, outcomes))
                   for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(map(str, outcomes))[1] == "created", outcomes
        [loser] = [o for o in outcomes if o != "created"]
        assert isinstance(loser, Conflict) and f"pipeline {name} already exists" in str(loser)
        assert "backup" not in str(loser)
    assert [p.name for p in pl.list_pipeline(first)] == ["p5", "p4", "p3", "p2", "p1"]
    assert fsck(first.store) == []


# ---- appends ------------------------------------------------------------------------------------

def test_append_streams_the_old_content_instead_of_holding_it(pfs):
    pfs.create_repo("r")
    size = 32 << 20
    old = os.urandom(1 << 20) * 32
    put(pfs, "r", {"/big": old})
    tracemalloc.start()
    try:
        put(pfs, "r", {"/big": b"tail\n"}, append=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < size // 4, peak  # a few 1 MiB chunks, not the 32 MiB file
    with pfs.get_file(parse("r@master:/big")) as f:
        assert f.read() == old + b"tail\n"
    put(pfs, "r", {"/small": b"a"})
    put(pfs, "r", {"/small": b"b" * BIG}, append=True)  # inline + file → file
    assert get(pfs, "r@master:/small") == b"a" + b"b" * BIG
    assert fsck(pfs.store) == []


# ---- messages: full disk, read-only store, lost database ---------------------------------------

def test_a_full_database_says_the_disk_is_full_and_changes_nothing(pfs):
    pfs.create_repo("r")
    put(pfs, "r", {"/a": b"1"})
    pages = pfs.store.one("PRAGMA page_count")[0]
    pfs.store.db.execute(f"PRAGMA max_page_count={pages}")  # SQLite's SQLITE_FULL, as on a full disk
    with pytest.raises(DiskFull, match=r"the disk holding .* is full; free space and run"):
        put(pfs, "r", {f"/f{i}": os.urandom(1000) for i in range(200)})
    assert [f.path for f in pfs.list_file(parse("r@master:/"))] == ["/a"]
    assert fsck(pfs.store) == []


def test_a_full_disk_says_so_from_the_command(tmp_path):
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare to mount a small tmpfs in a private mount namespace")
    store = tmp_path / "store"
    store.mkdir()
    big = tmp_path / "big"
    big.write_bytes(os.urandom(3 << 20))
    script = (f"mount -t tmpfs -o size=2m tmpfs {store} && {PACHLITE} create repo r && "
              f"{PACHLITE} put file r@master:/big -f {big}; echo rc=$?; {PACHLITE} list repo")
    p = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True,
                       env={**os.environ, "PACHLITE_STORE": str(store)}, timeout=120)
    if "mount" in p.stderr and "rc=" not in p.stdout:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.strip()}")
    assert "rc=1" in p.stdout, p
    assert p.stderr == f"pachlite: error: the disk holding {store} is full; free space and run " \
                       "the command again (nothing was changed)\n"
    assert p.stdout.rstrip().splitlines()[-1].startswith("default r ")  # and reads still work


@pytest.fixture
def shared_dir():
    """A folder another user may enter (tmp_path's parents are private to root)."""
    d = Path(tempfile.mkdtemp(prefix="pachlite-ro-"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_a_read_only_store_serves_reads_and_refuses_writes_in_one_line(shared_dir):
    root = shared_dir / "store"
    with closing(Store(root)) as store:
        pfs = PFS(store)
        pfs.create_repo("r")
        put(pfs, "r", {"/small": b"s", "/big": b"B" * BIG})
    env = {**os.environ, "PACHLITE_STORE": str(root)}
    if os.geteuid() == 0:  # permission bits do not stop root: read as another user
        cmd, env = _as_nobody(env)
        for d in (root, root / "objects"):  # a new store is private: its owner shares it to read
            os.chmod(d, 0o755)

        def run(*args):
            return subprocess.run([*cmd, *args], capture_output=True, text=True, user="nobody",
                                  group="nogroup", extra_groups=[], cwd=shared_dir, env=env,
                                  timeout=60)
    else:
        os.chmod(root, 0o555)
        os.chmod(root / "pachlite.db", 0o444)

        def run(*args):
            return subprocess.run([str(PACHLITE), *args], capture_output=True, text=True, env=env,
                                  timeout=60)
    assert run("get", "file", "r@master:/small").stdout == "s"
    assert run("get", "file", "r@master:/big").stdout == "B" * BIG
    assert run("fsck").stdout == "no problems found\n"
    p = run("create", "repo", "x")
    assert (p.returncode, p.stderr) == (
        1, f"pachlite: error: the store at {root} is read-only; it can be read but not changed; "
           "ask its owner, or copy it where you may write\n")
    p = run("put", "file", "r@master:/n", "-f", "-")
    assert p.returncode == 1 and "is read-only" in p.stderr
    os.chmod(root, 0o755)
    os.chmod(root / "pachlite.db", 0o644)


def _as_nobody(env: dict) -> tuple[list[str], dict]:
    """The `pachlite` command as user nobody may run it: this interpreter may sit in a folder
    only root may enter (pyenv under /root), then the system's, given pachlite and its packages."""
    paths = os.pathsep.join([str(Path(pachlite.__file__).parents[1]), *site.getsitepackages()])
    env = {**env, "PYTHONPATH": paths}
    for exe in (sys.executable, shutil.which("python3.11"), "/usr/bin/python3"):
        if not exe:
            continue
        cmd = [exe, "-c", "from pachlite.cli import main; main()"]
        try:
            if subprocess.run([*cmd, "--version"], user="nobody", group="nogroup", extra_groups=[],
                              env=env, capture_output=True, timeout=60).returncode == 0:
                return cmd, env
        except PermissionError:
            continue
    pytest.skip("no Python interpreter that user nobody may run pachlite with")


def test_read_only_opening_reads_and_refuses_every_write(tmp_path):
    root = tmp_path / "store"
    with closing(Store(root)) as store:
        PFS(store).create_repo("r")
        put(PFS(store), "r", {"/f": b"1"})
    with closing(Store(root, read_only=True)) as store:
        pfs = PFS(store)
        assert get(pfs, "r@master:/f") == b"1"
        with pytest.raises(ReadOnly, match="is read-only"):
            put(pfs, "r", {"/g": b"2"})
        with pytest.raises(ReadOnly, match="is read-only"):
            pfs.delete_repo("r")


def test_the_reader_reads_the_last_commit_while_a_write_is_in_progress(tmp_path):
    # A job's workers fetch their inputs through the reader while its records are written: the
    # fetch neither waits for the write nor sees it before it commits.
    from pachlite.store import objects
    with closing(Store(tmp_path / "store")) as store:
        store.reader()  # opened before the write, as a job opens it
        with store.transaction() as tx:
            tx.put_objects([(objects.hash_bytes(b"a"), 1, b"a")])
        h = objects.hash_bytes(b"b")
        done = threading.Event()
        with store.transaction() as tx:
            tx.put_objects([(h, 1, b"b")])

            def fetch():
                done.found = objects.inlined(store.reader(), [objects.hash_bytes(b"a"), h])
                done.set()
            threading.Thread(target=fetch).start()
            assert done.wait(10), "the reader waited for the write"
            assert done.found == {objects.hash_bytes(b"a"): b"a"}
        assert objects.inlined(store.reader(), [h]) == {h: b"b"}
    with closing(Store(tmp_path / "store", read_only=True)) as store:
        assert store.reader() is store


def test_a_lost_database_beside_objects_is_detected_not_replaced(tmp_path, cli):
    cli("create", "repo", "r")
    cli("put", "file", "r@master:/big", "-f", cli.file("big", "B" * BIG))
    for f in cli.store.glob("pachlite.db*"):
        f.unlink()
    p = cli("list", "repo", ok=False)
    assert p.stderr == (f"pachlite: error: the store at {cli.store} has objects but no database "
                        "(pachlite.db): it was deleted or moved; restore pachlite.db from a backup, "
                        "or move the folder aside to start anew\n")
    assert not (cli.store / "pachlite.db").exists()



@pytest.mark.parametrize("batching", [False, True], ids=["warm", "datumBatching"])
def test_a_serving_worker_fails_the_datum_of_a_damaged_input_and_says_why(pfs, tmp_path, batching):
    script = tmp_path / "duplicate.py"  # not copy.py: that would shadow the standard library's copy
    script.write_text(
        "import os, shutil, sys\n"
        "def main():\n"
        "    shutil.copy(os.environ['data'], '/pfs/out/' + os.path.basename(os.environ['data']))\n"
        + ("from pachlite.batch import batch_all_datums\nmain = batch_all_datums(main)\n" if batching else "")
        + "main()\n")
    pfs.create_repo("data")
    content = b"7" * BIG
    put(pfs, "data", {"/a": content, "/b": b"fine"})
    s = spec("copy", cmd=["python3", str(script)])
    s["transform"]["datumBatching"] = batching
    s["datumTries"] = 1
    pl.create_pipeline(pfs, s)
    damage_file(pfs.store, content)
    [r] = pl.run(pfs)
    assert r.job.state == "failure" and "is damaged" in r.job.reason, r.job.reason
    assert "worker exited" not in r.job.reason
    [out] = pfs.list_commit("copy")  # no output made of damaged input: an errored commit
    assert (out.error, out.size, pfs.files(out.key)) == (r.job.reason, 0, [])
