"""`put file --sync` (pfs/ingest.py): the repo path holds exactly the local files, one commit when
the content changed; its stat cache skips reading unchanged files but never misses an edit."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pachlite.pfs import collect_sources, ingest
from pachlite.pfs.address import Address, parse

A = parse("attributes@master:/")


@pytest.fixture
def settled(monkeypatch):
    """Files written a moment ago count as older than a clock tick, so their stat is recorded
    (in a real run, the data was written well before the sync)."""
    monkeypatch.setattr(ingest, "FINE_TICK_NS", 0)
    monkeypatch.setattr(ingest, "COARSE_TICK_NS", 0)


def sync(pfs, folder: Path):
    return ingest.sync(pfs, A, collect_sources("/", [str(folder)], True, "test"))


def files(pfs) -> dict[str, bytes]:
    c = pfs.resolve(Address("attributes", branch="master"))
    return {p: pfs.store.read_object(h) for p, h, _ in pfs.files(c.id)}


def cache_entries(pfs) -> dict:
    """The stat cache's entries (local path -> [dest, *stat, hash]); none before any is recorded."""
    caches = list((pfs.store.root / "ingest").glob("*")) if (pfs.store.root / "ingest").exists() else []
    assert len(caches) <= 1
    return json.loads(caches[0].read_text()) if caches else {}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "attributes"
    (d / "sub").mkdir(parents=True)
    for name, text in (("1.json", "aaaa"), ("2.json", "bbbb"), ("sub/3.json", "cccc")):
        (d / name).write_text(text)
    return d


def test_an_unchanged_folder_makes_no_commit_and_its_stat_cache_is_private(pfs, folder, settled):
    first = sync(pfs, folder)
    assert files(pfs) == {"/1.json": b"aaaa", "/2.json": b"bbbb",
                          "/sub/3.json": b"cccc"}
    assert sync(pfs, folder) is None
    assert pfs.resolve(Address("attributes", branch="master")).id == first.id
    cache_dir = pfs.store.root / "ingest"
    assert cache_dir.stat().st_mode & 0o777 == 0o700
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in cache_dir.iterdir())
    assert len(cache_entries(pfs)) == 3


def test_a_same_size_edit_with_its_old_mtime_is_noticed(pfs, folder, settled):
    sync(pfs, folder)
    f = folder / "1.json"
    before = f.stat()
    f.write_text("AAAA")
    os.utime(f, ns=(before.st_atime_ns, before.st_mtime_ns))  # as `cp -p` or a tool resetting it
    assert f.stat().st_size == before.st_size and f.stat().st_mtime_ns == before.st_mtime_ns
    assert sync(pfs, folder) is not None
    assert files(pfs)["/1.json"] == b"AAAA"


def test_a_file_replaced_by_another_of_the_same_size_and_mtime_is_noticed(pfs, folder, settled):
    sync(pfs, folder)
    f, other = folder / "2.json", folder.parent / "other"
    before = f.stat()
    other.write_text("BBBB")
    os.utime(other, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(other, f)
    assert sync(pfs, folder) is not None
    assert files(pfs)["/2.json"] == b"BBBB"


def test_a_same_size_edit_in_the_clock_tick_of_the_sync_is_noticed(pfs, folder):
    # The real ticks: a file written just before a sync may be edited again within the same
    # timestamp tick (same size, mtime and ctime); its entry is not trusted, so it is read.
    f = folder / "1.json"
    f.write_text("aaaa")
    sync(pfs, folder)
    before = f.stat()
    f.write_text("AAAA")
    os.utime(f, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert sync(pfs, folder) is not None
    assert files(pfs)["/1.json"] == b"AAAA"
    assert str(f) not in cache_entries(pfs)  # its times are this instant's: read again next time


def test_deleted_new_and_edited_files_are_noticed(pfs, folder, settled):
    sync(pfs, folder)
    (folder / "sub/3.json").unlink()
    (folder / "4.json").write_text("dddd")
    (folder / "2.json").write_text("a longer text")
    sync(pfs, folder)
    assert files(pfs) == {"/1.json": b"aaaa", "/2.json": b"a longer text",
                          "/4.json": b"dddd"}
    assert set(cache_entries(pfs)) == {str(folder / n) for n in ("1.json", "2.json", "4.json")}


def test_a_branch_moved_back_gets_the_local_files_again(pfs, folder, settled):
    first = sync(pfs, folder)
    (folder / "1.json").write_text("AAAA")
    sync(pfs, folder)
    # Moved back outside the sync: the cache knows 1.json's new hash, which the head lacks.
    pfs.create_branch("attributes", "master", head=Address("attributes", commit=first.id))
    assert sync(pfs, folder) is not None
    assert files(pfs)["/1.json"] == b"AAAA"


def test_a_damaged_stat_cache_only_costs_a_read(pfs, folder, settled):
    sync(pfs, folder)
    (cache,) = (pfs.store.root / "ingest").iterdir()
    cache.write_text('{"truncated')
    (folder / "1.json").write_text("AAAA")
    assert sync(pfs, folder) is not None
    assert files(pfs)["/1.json"] == b"AAAA"
    assert len(cache_entries(pfs)) == 3
    cache.write_text(json.dumps({str(folder / "1.json"): 7, str(folder / "2.json"): ["/2.json"]}))
    (folder / "2.json").write_text("BBBB")
    assert sync(pfs, folder) is not None
    assert files(pfs)["/2.json"] == b"BBBB"
