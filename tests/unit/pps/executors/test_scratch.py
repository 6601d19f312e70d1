"""A worker's scratch /pfs: inputs laid out exactly, shared inputs kept between datums only while
untouched, writes outside /pfs/out caught on tmpfs and on other file systems alike; and the same
outputs collected from a sealed /pfs (a private namespace's, inputs read-only to user code)."""

import os
from pathlib import Path

import pytest

from pachlite.pps.executors.scratch import Scratch

SHM = Path("/dev/shm")


def _scratch(kind: str, tmp_path: Path):
    if kind == "sealed":
        yield Scratch(tmp_path / "pfs", view="/pfs", sealed=True)
    elif kind == "tmpfs":
        if not (SHM.is_dir() and os.access(SHM, os.W_OK)):
            pytest.skip("no writable /dev/shm")
        import tempfile
        with tempfile.TemporaryDirectory(dir=SHM) as d:
            s = Scratch(Path(d) / "pfs")
            assert s.per_entry is not None  # tmpfs counts folder entries in st_size
            yield s
    else:
        s = Scratch(tmp_path / "pfs")
        s.per_entry = None  # the listing path, as on ext4
        yield s


@pytest.fixture(params=["tmpfs", "disk", "sealed"])
def scratch(request, tmp_path):
    yield from _scratch(request.param, tmp_path)


@pytest.fixture(params=["tmpfs", "disk"])
def unsealed(request, tmp_path):
    """Where user code could write anywhere in /pfs (no private namespace)."""
    yield from _scratch(request.param, tmp_path)


def tree(root: str) -> dict[str, bytes]:
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            out[os.path.relpath(p, root)] = Path(p).read_bytes()
    return out


def datum(n: int):
    return [(f"data/d{n}/file", f"h{n}", f"content {n}".encode(), None),
            ("model/model.json", "m", b"model", None)]


def test_each_datum_sees_exactly_its_inputs(scratch):
    for n in range(3):
        scratch.lay_out(datum(n))
        assert tree(scratch.root) == {f"data/d{n}/file": f"content {n}".encode(),
                                      "model/model.json": b"model"}
        assert scratch.collect(Path(scratch.root) / "objects-unused") == ([], "")
        scratch.reset()


def test_outputs_are_collected_and_cleared(scratch):
    scratch.lay_out(datum(0))
    Path(scratch.out, "a").write_bytes(b"1")
    Path(scratch.out, "sub").mkdir()
    Path(scratch.out, "sub", "b").write_bytes(b"22")
    outputs, err = scratch.collect(Path(scratch.root))
    assert err == "" and [(p, s) for p, _, s, _ in outputs] == [("/a", 1), ("/sub/b", 2)]
    scratch.reset()
    assert os.listdir(scratch.out) == []


@pytest.mark.parametrize("where", ["", "data", "data/d0", "model"])
def test_a_write_outside_out_is_caught_and_cleared(unsealed, where):
    scratch = unsealed
    scratch.lay_out(datum(0))
    Path(scratch.root, where, "stray").write_text("?")
    _, err = scratch.collect(Path(scratch.root))
    stray = "/pfs/" + (where + "/" if where else "") + "stray"
    assert err == f"the datum wrote {stray} outside /pfs/out; write outputs only under /pfs/out"
    scratch.reset()
    scratch.lay_out(datum(1))
    assert "stray" not in str(tree(scratch.root))


def test_a_shared_input_the_datum_rewrote_is_laid_out_again(unsealed):
    scratch = unsealed
    scratch.lay_out(datum(0))
    with open(os.path.join(scratch.root, "model/model.json"), "wb") as f:
        f.write(b"MODEL-CHANGED")
    scratch.collect(Path(scratch.root))
    scratch.reset()
    scratch.lay_out(datum(1))
    assert tree(scratch.root)["model/model.json"] == b"model"


def test_datums_of_one_new_file_each_see_their_own_content(scratch):
    """(A sealed worker renames and rewrites the one input file that changed in place: what each
    datum sees must still be exactly its own, whether longer or shorter than the last, the same
    name again, beside a file kept, or after a datum of another shape or a failure.)"""
    model = ("model/m", "m", b"model", None)
    layouts = [[("data/a", "1", b"a longer content", None)], [("data/b", "2", b"short", None)],
               [("data/c", "3", b"", None)], [("data/c", "4", b"same name", None)],
               datum(0), [("data/d", "5", b"after two", None)], [("data/e", "6", b"e", None)],
               [("data/f", "7", b"f", None), model], [model, ("data/g", "8", b"g, model kept", None)],
               [("data/h", "9", b"h", None), ("model/m", "m2", b"both changed", None)],
               [("data/i", "10", b"i", None), ("model/m", "m2", b"both changed", None)]]
    for n, files in enumerate(layouts):
        scratch.lay_out(files)
        assert tree(scratch.root) == {rel: data for rel, _, data, _ in files}
        assert all(os.stat(os.path.join(scratch.root, rel)).st_mode & 0o777 == 0o600
                   for rel, *_ in files)
        scratch.collect(Path(scratch.root))
        scratch.reset()
        if n == 5:  # a failed datum: its inputs are cleared
            scratch.clear_inputs()
    scratch.close()


def test_folders_no_datum_needs_are_removed(scratch):
    scratch.lay_out([("data/a/b/c", "1", b"x", None)])
    scratch.collect(Path(scratch.root))
    scratch.reset()
    scratch.lay_out([("data/z", "2", b"y", None)])
    assert sorted(os.listdir(os.path.join(scratch.root, "data"))) == ["z"]


def test_a_file_and_a_folder_of_one_name_take_turns(scratch):
    layouts = [[("data/x", "1", b"file", None)], [("data/x/y", "2", b"below", None)],
               [("data/x", "3", b"file again", None)]]
    for files in layouts:
        scratch.lay_out(files)
        assert tree(scratch.root) == {rel: data for rel, _, data, _ in files}
        scratch.collect(Path(scratch.root))
        scratch.reset()


def test_outputs_beside_a_link_and_a_non_ascii_name_are_collected_whole(scratch, tmp_path):
    scratch.lay_out(datum(0))
    Path(scratch.out, "plain").write_bytes(b"1")
    os.symlink(scratch.root + "/model/model.json", scratch.out + "/linked")
    Path(scratch.out, "é").write_bytes(b"333")
    rows, err = scratch.collect(tmp_path)
    assert err == ""
    assert [(p, s, d) for p, _, s, d in rows] == [("/linked", 5, b"model"), ("/plain", 1, b"1"),
                                                  ("/é", 3, b"333")]
    scratch.reset()
    assert os.listdir(scratch.out) == []
    Path(scratch.out, "plain").write_bytes(b"1")
    (tmp_path / "outside").write_bytes(b"secret")
    os.symlink(tmp_path / "outside", scratch.out + "/away")
    rows, err = scratch.collect(tmp_path)
    assert rows == [] and err.startswith("/pfs/out/away is a symlink to ") and "outside /pfs" in err
    scratch.reset()
    assert os.listdir(scratch.out) == []


def test_a_link_to_an_empty_files_input_is_its_stored_content_a_copy_is_empty(scratch, tmp_path):
    # pachd's handleSymlinks: a link into an emptyFiles input is CopyFile of the input's file.
    ref = ("h-real", 5, b"apple")
    scratch.lay_out([("fruits/apple.jpeg", "empty", b"", ref), ("fruits/sub/b", "empty", b"", ("h-b", 1, None))])
    assert tree(scratch.root + "/fruits") == {"apple.jpeg": b"", "sub/b": b""}
    os.makedirs(scratch.out + "/apple")
    os.symlink(scratch.root + "/fruits/apple.jpeg", scratch.out + "/apple/img.jpeg")
    os.symlink(scratch.root + "/fruits/sub", scratch.out + "/linked")
    Path(scratch.out, "copied").write_bytes(Path(scratch.root, "fruits/apple.jpeg").read_bytes())
    rows, err = scratch.collect(tmp_path)
    assert err == ""
    assert [r[:3] for r in rows] == [("/apple/img.jpeg", "h-real", 5), ("/copied", rows[1][1], 0),
                                     ("/linked/b", "h-b", 1)]
    assert rows[0][3] == b"apple"
