"""Input trees → datums, datum IDs, hashes and environments, as Pachyderm 2.x makes them.

Expected datums are written out from reference/SEMANTICS.md and from the layouts of Pachyderm's
examples (examples/joins, examples/group; reference/pachyderm/examples-2x).
"""

import hashlib
import struct

import pytest

from pachlite.errors import InvalidInput
from pachlite.pps.datum import (
    Datum,
    DatumInput,
    FileInfo,
    Listing,
    datum_env,
    datum_id,
    datum_stream,
    datums,
)

F50 = [f"/foo{i}" for i in range(50)]
FOO_1 = ["/foo11", "/foo21", "/foo31", "/foo41"]  # glob /foo?1
FOO_2 = ["/foo12", "/foo2", "/foo22", "/foo32", "/foo42"]  # glob /foo*2, in path order

# examples/joins (README): stores, purchases and returns, joined on the store ID
STORES = ["/STOREID1.txt", "/STOREID2.txt", "/STOREID3.txt", "/STOREID4.txt"]
PURCHASES = ["/ORDERW080520_STOREID1.txt", "/ORDERW080521_STOREID1.txt",
             "/ORDERW078929_STOREID2.txt"]
RETURNS = ["/ODERW080520_STOREID1.txt", "/ORDERW080528_STOREID5.txt"]
STORES_GLOB = "/STOREID(*).txt"
ORDERS_GLOB = "/*_STOREID(*).txt"
# examples/group: lab results grouped by patient
LABS = ["/T1606320000-LIPID-PATID3-CLIA24D9871327.txt",
        "/T1606331395-LIPID-PATID1-CLIA24D9871327.txt",
        "/T1606707557-LIPID-PATID2-CLIA24D9871327.txt",
        "/T1606707579-HDL-PATID1-CLIA24D9871327.txt"]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Repos:
    """A resolve function over in-memory repos; records what it was asked."""

    def __init__(self, **repos):
        self.repos = {name: (f"{name}-commit", {p: p for p in files})
                      for name, files in repos.items()}
        self.calls = []

    def commit(self, repo, commit, **changes):
        """A new commit of repo: changes map a path to its content, or to None to delete it."""
        files = {**self.repos[repo][1], **changes}
        self.repos[repo] = (commit, {p: c for p, c in files.items() if c is not None})

    def __call__(self, spec):
        self.calls.append(spec)
        commit, files = self.repos[spec["repo"]]
        return Listing(spec["repo"], spec["branch"], commit,
                       [FileInfo(p, content_hash(c), len(c)) for p, c in sorted(files.items())])


def pfs(repo, glob, **more):
    """A pfs input as a running spec holds it: named after its repo, on master, unless given."""
    return {"pfs": {"repo": repo, "glob": glob, "name": repo, "branch": "master", **more}}


def shape(ds):
    """Each datum as (input name, path) pairs, singletons unwrapped for readability."""
    out = []
    for d in ds:
        pairs = tuple((i.name, i.path) for i in d.inputs)
        out.append(pairs[0] if len(pairs) == 1 else pairs)
    return out


# --- SEMANTICS.md cases 1-9 ---------------------------------------------------------------------

def test_case1_negated_superstar_gives_no_datums():
    assert datums(pfs("F50", "!(**)"), Repos(F50=F50)) == []


def test_case2_single_char_wildcard():
    assert shape(datums(pfs("F50", "/foo?1"), Repos(F50=F50))) == [("F50", p) for p in FOO_1]


def test_case3_star():
    assert shape(datums(pfs("F50", "/foo*2"), Repos(F50=F50))) == [("F50", p) for p in FOO_2]


def test_case4_union_gives_each_childs_datums_one_input_each():
    got = datums({"union": [pfs("F50", "/foo?1"), pfs("F50", "/foo*2")]}, Repos(F50=F50))
    assert shape(got) == [("F50", p) for p in FOO_1 + FOO_2]
    assert all(len(d.inputs) == 1 for d in got)


def test_case5_cross_gives_every_pair():
    got = datums({"cross": [pfs("F50", "/foo?1", name="a"), pfs("F50", "/foo*2", name="b")]},
                 Repos(F50=F50))
    assert shape(got) == [(("a", x), ("b", y)) for x in FOO_1 for y in FOO_2]
    assert len(got) == 20


@pytest.mark.parametrize("empty", [pfs("F50", "!(**)", name="b"), pfs("nothing", "/*")])
def test_case6_cross_with_an_empty_member_gives_nothing(empty):
    repos = Repos(F50=F50, nothing=[])
    assert datums({"cross": [pfs("F50", "/foo?1", name="a"), empty]}, repos) == []


def test_case7_group_by_capture_group():
    got = datums({"group": [pfs("F50", "/foo(?)(?)", groupBy="$1")]}, Repos(F50=F50))
    assert shape(got) == [tuple(("F50", f"/foo{k}{j}") for j in range(10)) for k in "1234"]
    assert [{i.group_by for i in d.inputs} for d in got] == [{"1"}, {"2"}, {"3"}, {"4"}]


def test_case8_directories_are_datums_with_their_files():
    tree = ([f"/file{i}" for i in range(100)] + [f"/dir1/file{i}" for i in range(100)]
            + [f"/dir2/dir3/file{i}" for i in range(100)])
    got = datums(pfs("tree", "*"), Repos(tree=tree))
    assert len(got) == 102
    [dir2] = [d.inputs[0] for d in got if d.inputs[0].path == "/dir2/"]
    assert dir2.is_dir
    assert sorted(f.path for f in dir2.files) == sorted(f"/dir2/dir3/file{i}" for i in range(100))
    assert len(datums(pfs("tree", "*/*"), Repos(tree=tree))) == 101
    assert len(datums(pfs("tree", "dir1/*"), Repos(tree=tree))) == 100
    assert len(datums(pfs("tree", "**file1?"), Repos(tree=tree))) == 30


def test_case9_files_directories_and_root():
    repos = Repos(d=["/dir1/file1.1", "/dir1/file1.2", "/dir2/file2.1", "/dir2/file2.2"])
    assert shape(datums(pfs("d", "**.2"), repos)) == [
        ("d", "/dir1/file1.2"), ("d", "/dir2/file2.2")]
    assert shape(datums(pfs("d", "/*"), repos)) == [("d", "/dir1/"), ("d", "/dir2/")]
    [root] = datums(pfs("d", "/"), repos)
    assert root.inputs[0].path == "/" and len(root.inputs[0].files) == 4


# --- union, join, group -------------------------------------------------------------------------

def test_union_children_may_share_a_name():
    repos = Repos(a=["/x", "/y"], b=["/z"])
    got = datums({"union": [pfs("a", "/*", name="in"), pfs("b", "/*", name="in")]}, repos)
    assert shape(got) == [("in", "/x"), ("in", "/y"), ("in", "/z")]
    assert [datum_env(d)["in"] for d in got] == ["/pfs/in/x", "/pfs/in/y", "/pfs/in/z"]
    assert [datum_env(d)["in_COMMIT"] for d in got] == ["a-commit", "a-commit", "b-commit"]


def test_union_runs_a_datum_two_children_make_once():
    got = datums({"union": [pfs("F50", "/foo?1"), pfs("F50", "/foo4*")]}, Repos(F50=F50))
    assert shape(got) == [("F50", p) for p in ["/foo11", "/foo21", "/foo31", "/foo41", "/foo4",
                                               "/foo40", "/foo42", "/foo43", "/foo44", "/foo45",
                                               "/foo46", "/foo47", "/foo48", "/foo49"]]


def test_inner_join_pairs_files_with_the_same_key():
    repos = Repos(stores=STORES, purchases=PURCHASES)
    got = datums({"join": [pfs("stores", STORES_GLOB, joinOn="$1"),
                           pfs("purchases", ORDERS_GLOB, joinOn="$1")]}, repos)
    assert shape(got) == [
        (("stores", "/STOREID1.txt"), ("purchases", "/ORDERW080520_STOREID1.txt")),
        (("stores", "/STOREID1.txt"), ("purchases", "/ORDERW080521_STOREID1.txt")),
        (("stores", "/STOREID2.txt"), ("purchases", "/ORDERW078929_STOREID2.txt")),
    ]
    assert datum_env(got[2])["PACH_DATUM_stores_JOIN_ON"] == "2"
    assert datum_env(got[2])["PACH_DATUM_purchases_JOIN_ON"] == "2"


def test_outer_join_keeps_keys_missing_from_some_inputs():
    repos = Repos(stores=STORES, returns=RETURNS)
    got = datums({"join": [pfs("stores", STORES_GLOB, joinOn="$1", outerJoin=True),
                           pfs("returns", ORDERS_GLOB, joinOn="$1", outerJoin=True)]}, repos)
    assert shape(got) == [
        (("stores", "/STOREID1.txt"), ("returns", "/ODERW080520_STOREID1.txt")),
        ("stores", "/STOREID2.txt"),
        ("stores", "/STOREID3.txt"),
        ("stores", "/STOREID4.txt"),
        ("returns", "/ORDERW080528_STOREID5.txt"),
    ]


def test_outer_join_on_one_side_drops_the_other_sides_lone_keys():
    repos = Repos(stores=STORES, returns=RETURNS)
    got = datums({"join": [pfs("stores", STORES_GLOB, joinOn="$1", outerJoin=True),
                           pfs("returns", ORDERS_GLOB, joinOn="$1")]}, repos)
    assert shape(got) == [
        (("stores", "/STOREID1.txt"), ("returns", "/ODERW080520_STOREID1.txt")),
        ("stores", "/STOREID2.txt"),
        ("stores", "/STOREID3.txt"),
        ("stores", "/STOREID4.txt"),
    ]


def test_group_collects_every_childs_files_with_a_key_in_key_order():
    repos = Repos(labresults=LABS, patients=["/PATID1.txt", "/PATID2.txt", "/PATID3.txt"])
    got = datums({"group": [pfs("labresults", "/*-PATID(*)-*.txt", groupBy="$1"),
                            pfs("patients", "/PATID(*).txt", groupBy="$1")]}, repos)
    assert shape(got) == [
        (("labresults", LABS[1]), ("labresults", LABS[3]), ("patients", "/PATID1.txt")),
        (("labresults", LABS[2]), ("patients", "/PATID2.txt")),
        (("labresults", LABS[0]), ("patients", "/PATID3.txt")),
    ]
    env = datum_env(got[0])
    assert env["PACH_DATUM_labresults_GROUP_BY"] == "1"  # as lab_group_by_patient's stdin uses
    assert env["labresults"] == "/pfs/labresults" + LABS[3]  # repeated names: the last wins


def test_superstar_datums_overlap():
    got = datums(pfs("r", "/**"), Repos(r=["/a/b/c", "/a/d"]))
    assert shape(got) == [("r", "/a/"), ("r", "/a/b/"), ("r", "/a/b/c"), ("r", "/a/d")]
    assert [[f.path for f in d.inputs[0].files] for d in got] == [
        ["/a/b/c", "/a/d"], ["/a/b/c"], ["/a/b/c"], ["/a/d"]]


# --- defaults, environment, errors --------------------------------------------------------------

def test_pfs_name_and_branch_default_to_repo_and_master():
    repos = Repos(F50=F50)
    [d] = datums(pfs("F50", "/foo1"), repos)
    assert repos.calls == [{"repo": "F50", "glob": "/foo1", "name": "F50", "branch": "master"}]
    assert (d.inputs[0].name, d.inputs[0].branch) == ("F50", "master")


def test_datum_env():
    repos = Repos(data=["/dir/a.csv"], model=["/model.json"])
    [d] = datums({"cross": [pfs("data", "/*"), pfs("model", "/")]}, repos)
    assert datum_env(d) == {
        "data": "/pfs/data/dir",
        "data_COMMIT": "data-commit",
        "model": "/pfs/model",
        "model_COMMIT": "model-commit",
        "PACH_DATUM_ID": d.id,
    }
    assert datum_env(d, pfs_root="/tmp/scratch/pfs")["data"] == "/tmp/scratch/pfs/data/dir"


def test_cron_input_is_each_tick_file_of_its_repo():
    from pachlite.pps.spec import PipelineSpec
    repos = Repos(nightly_tick=["/2024-01-01T00:00:00Z", "/2024-01-02T00:00:00Z"])
    running = PipelineSpec.of({"pipeline": {"name": "nightly"}, "transform": {"cmd": ["true"]},
                               "input": {"cron": {"name": "tick", "spec": "@daily"}}})
    got = datums(running.input, repos)
    assert shape(got) == [("tick", "/2024-01-01T00:00:00Z"), ("tick", "/2024-01-02T00:00:00Z")]
    assert repos.calls[0]["branch"] == "master"


def test_empty_files_and_outer_join_flags_reach_the_inputs():
    [d] = datums(pfs("F50", "/foo1", emptyFiles=True), Repos(F50=F50))
    assert d.inputs[0].empty_files and not d.inputs[0].outer_join


@pytest.mark.parametrize("tree, problem", [
    ({}, "exactly one of"),
    ({"pfs": {"repo": "F50", "glob": "/*"}, "cross": []}, "exactly one of"),
    ({"spout": {}}, "input type 'spout' is not supported"),
    ({"cross": [{"pfs": {"repo": "F50"}}]}, "needs a repo and a glob"),
    ({"union": {"pfs": {"repo": "F50", "glob": "/*"}}}, "must be a list"),
])
def test_bad_input_trees(tree, problem):
    with pytest.raises(InvalidInput) as e:
        datums(tree, Repos(F50=F50))
    assert problem in e.value.problem and e.value.fix
    with pytest.raises(InvalidInput) as e:  # at once, before any datum is asked for
        datum_stream(tree, Repos(F50=F50))
    assert problem in e.value.problem


@pytest.mark.parametrize("tree", [
    pfs("F50", "/*"),
    {"cross": [pfs("F50", "/foo?1"), pfs("F50", "/foo*2", name="b")]},
    {"cross": [pfs("F50", "/*"), pfs("F50", "/nothing", name="b")]},
    {"cross": [{"cross": [pfs("F50", "/foo?1"), pfs("F50", "/foo1", name="b")]},
               pfs("F50", "/foo*2", name="c"), pfs("F50", "/foo3", name="d")]},
    {"cross": [{"union": [pfs("F50", "/foo?1"), pfs("F50", "/foo*2")]}, pfs("F50", "/", name="b")]},
    {"union": [pfs("F50", "/foo?1"), pfs("F50", "/foo*2")]},
    {"join": [pfs("STORES", STORES_GLOB, joinOn="$1"), pfs("PURCHASES", ORDERS_GLOB, joinOn="$1")]},
])
def test_the_datum_stream_makes_the_same_datums_lazily(tree):
    repos = Repos(F50=F50, STORES=STORES, PURCHASES=PURCHASES)
    count, stream = datum_stream(tree, repos)
    listed = len(repos.calls)
    assert listed and count == len(datums(tree, Repos(F50=F50, STORES=STORES, PURCHASES=PURCHASES)))
    assert list(stream) == datums(tree, repos)
    assert len(repos.calls) == 2 * listed  # the stream listed every commit before its first datum


def test_a_bad_glob_names_the_input_and_the_pattern():
    with pytest.raises(InvalidInput) as e:
        datums({"cross": [pfs("F50", "/*"), pfs("F50", "/foo[", name="b")]}, Repos(F50=F50))
    assert e.value.where == "input.cross[1].pfs (b): glob '/foo['"
    assert "never closed" in e.value.problem


# --- datum ID and hash ----------------------------------------------------------------------------

def go_datum_id(inputs) -> str:
    """pachd's worker/common.DatumID written out: per input, hash.Write of its name, repo, branch
    and path, each followed by binary.Write(BigEndian, int64(len)); pachhash.New is BLAKE2b-256;
    hex.EncodeToString of the sum."""
    h = hashlib.blake2b(digest_size=32)
    for name, repo, branch, path in inputs:
        for field in (name, repo, branch, path):
            h.update(field.encode())
            h.update(struct.pack(">q", len(field.encode())))
    return h.hexdigest()


def test_datum_id_is_pachds_blake2b_over_name_repo_branch_and_path():
    [d] = datums(pfs("F50", "/foo1", name="in"), Repos(F50=F50))
    assert d.id == go_datum_id([("in", "F50", "master", "/foo1")])
    # A fixed vector, so the test does not only agree with itself: BLAKE2b-256 of the framing.
    assert go_datum_id([("in", "F50", "master", "/foo1")]) == hashlib.new(
        "blake2b", b"in" + struct.pack(">q", 2) + b"F50" + struct.pack(">q", 3) + b"master" +
        struct.pack(">q", 6) + b"/foo1" + struct.pack(">q", 5), digest_size=32).hexdigest()


@pytest.mark.parametrize("tree", [
    pfs("F50", "/foo1?"),
    {"cross": [pfs("F50", "/foo?1"), pfs("F50", "/foo*2", name="b", branch="dev")]},
    {"union": [pfs("F50", "/foo?1"), pfs("F50", "/foo*2", name="b")]},
    {"join": [pfs("stores", STORES_GLOB, joinOn="$1"), pfs("purchases", ORDERS_GLOB, joinOn="$1")]},
    {"group": [pfs("labs", "/*-(*)-PATID(*)-*.txt", groupBy="$2")]},
], ids=["pfs", "cross", "union", "join", "group"])
def test_every_input_types_datum_ids_equal_pachds(tree):
    repos = Repos(F50=F50, stores=STORES, purchases=PURCHASES, labs=LABS)
    got = datums(tree, repos)
    assert got
    for d in got:
        assert d.id == go_datum_id([(i.name, i.repo, i.branch, i.path) for i in d.inputs])


def test_datum_id_survives_a_new_commit_and_the_hash_follows_content():
    repos = Repos(F50=F50)
    [before] = datums(pfs("F50", "/foo1"), repos)
    repos.commit("F50", "c2", **{"/foo2": "other file"})
    [same] = datums(pfs("F50", "/foo1"), repos)
    repos.commit("F50", "c3", **{"/foo1": "new content"})
    [changed] = datums(pfs("F50", "/foo1"), repos)
    assert before.id == same.id == changed.id
    assert same.inputs[0].commit == "c2"
    assert before.hash("salt") == same.hash("salt")
    assert changed.hash("salt") != before.hash("salt")
    assert before.hash("salt") != before.hash("new salt")


def test_a_directory_datums_hash_covers_its_files_names_and_contents():
    repos = Repos(r=["/d/a", "/d/b"])
    [before] = datums(pfs("r", "/*"), repos)
    repos.commit("r", "c2", **{"/d/b": None, "/d/c": "/d/b"})  # b renamed to c, same content
    [after] = datums(pfs("r", "/*"), repos)
    assert before.id == after.id
    assert before.hash("s") != after.hash("s")


@pytest.mark.parametrize("change", ["name", "branch", "repo"])
def test_datum_id_depends_on_name_repo_and_branch(change):
    fields = {"name": "in", "repo": "r", "branch": "master"}
    f = FileInfo("/a", content_hash("a"), 1)
    base = DatumInput(**fields, commit="c", path="/a", is_dir=False, files=(f,))
    other = DatumInput(**{**fields, change: "x"}, commit="c", path="/a", is_dir=False, files=(f,))
    assert datum_id([base]) != datum_id([other])


def test_a_datums_id_is_the_id_of_its_inputs():
    [d] = datums(pfs("F50", "/foo1"), Repos(F50=F50))
    assert datum_id(d.inputs) == d.id
    assert d == Datum(d.id, d.inputs)


# --- scale (speed is measured by benchmarks/pps_bench.py, not asserted here) ---------------------

def test_hundred_thousand_files_crossed_with_a_model_give_distinct_datums():
    files = [FileInfo(f"/file{i:06d}.csv", content_hash(str(i)), 10) for i in range(100_000)]
    listings = {"data": Listing("data", "master", "c1", files),
                "model": Listing("model", "master", "c2", [FileInfo("/model.json", "ab" * 32, 5)])}
    got = datums({"cross": [pfs("data", "/*"), pfs("model", "/")]}, lambda s: listings[s["repo"]])
    hashes = {d.hash("salt") for d in got}
    assert len(got) == len(hashes) == 100_000
