"""Pachyderm's address grammar: one parser, one printer, `parse(str(a)) == a`.

Ancestry follows Pachyderm's ancestry.Parse (src/internal/ancestry/ancestry.go): `^` and `~` mean
the same, `^^`/`~~` count, `^N`/`~N` give the number, and mixing the two is an error. Names
follow ancestry.ValidateName: `^[a-zA-Z0-9_-]+$`. hypothesis is not installed in the venv, so the
round trip runs over a systematic grid of every part of the grammar instead.
"""

import itertools

import pytest

from pachlite.errors import InvalidInput
from pachlite.pfs.address import (
    Address,
    clean_path,
    is_commit_id,
    parse,
    parse_name,
    repo_key,
    split_key,
    validate_name,
    validate_project,
)

CID = "0123456789abcdef0123456789abcdef"
CID2 = "fedcba9876543210fedcba9876543210"

REPOS = ["r", "images", "My_Repo-2", "0", "p1/images", "My-Project_2/r"]
REFS = [(None, None), ("master", None), ("dev-2", None), (None, CID), ("master", CID2)]
ANCESTRY = [0, 1, 2, 10]
PATHS = [None, "/", "/a", "/a/b.txt", "/with space/é.csv", "/x:y", "/.hidden", "/a-b_c.d"]

GRID = [Address(repo, b, c, n, p)
        for repo, (b, c), n, p in itertools.product(REPOS, REFS, ANCESTRY, PATHS)
        if not (n and b is None and c is None)]  # ancestry needs a branch or commit to count from


@pytest.mark.parametrize("a", GRID, ids=str)
def test_print_then_parse_gives_the_same_address(a):
    assert parse(str(a)) == a


@pytest.mark.parametrize("text, expected", [
    ("images", Address("images")),
    ("images@master", Address("images", "master")),
    ("images@master:/a.png", Address("images", "master", path="/a.png")),
    (f"images@{CID}", Address("images", commit=CID)),
    (f"images@master={CID}:/a", Address("images", "master", CID, path="/a")),
    ("images@master^", Address("images", "master", ancestry=1)),
    ("images@master^^^", Address("images", "master", ancestry=3)),
    ("images@master^3", Address("images", "master", ancestry=3)),
    ("images@master~2", Address("images", "master", ancestry=2)),
    ("images@master~", Address("images", "master", ancestry=1)),
    ("images@master~~:/x", Address("images", "master", ancestry=2, path="/x")),
    (f"images@{CID}^", Address("images", commit=CID, ancestry=1)),
    ("images@master:", Address("images", "master", path="/")),
    ("images@master:a/b", Address("images", "master", path="/a/b")),
    ("images@master://a//b/", Address("images", "master", path="/a/b")),
    ("images@master:/a/./b/../c", Address("images", "master", path="/a/c")),
    # A 32-hex-digit name is a commit id, as uuid.IsUUIDWithoutDashes decides in pachctl.
    (f"images@{CID.upper()}", Address("images", CID.upper())),
])
def test_parse(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text, canonical", [
    ("r@master^", "r@master~1"),
    ("r@master^^", "r@master~2"),
    ("r@master~3:/a", "r@master~3:/a"),
    ("r@master^0", "r@master"),
    ("r@master:a//b/", "r@master:/a/b"),
    (f"r@master={CID}", f"r@master={CID}"),
])
def test_printer_writes_the_canonical_form(text, canonical):
    assert str(parse(text)) == canonical
    assert parse(canonical) == parse(text)


@pytest.mark.parametrize("text, names", [
    ("", "empty address"),
    ("@master", "invalid repo name ''"),
    ("my repo@master", "invalid repo name 'my repo'"),
    ("a.b", "invalid repo name 'a.b'"),
    ("a/r/x@master", "invalid project name 'a/r'"),
    ("r@", "malformed branch or commit"),
    ("r@^", "malformed branch or commit"),
    ("r@master^~", "malformed branch or commit"),
    ("r@master~2^", "malformed branch or commit"),
    ("r@master~x", "malformed branch or commit"),
    ("r@feature/x", "invalid branch name 'feature/x'"),
    ("r@master=abc", "'abc' in 'r@master=abc' is not a commit id"),
    ("r@master:../etc/passwd", "escapes the repo"),
    ("r@master:/a/../../b", "escapes the repo"),
    ("r@master:/a\x00b", "NUL byte"),
])
def test_malformed_addresses_are_refused_with_a_fix(text, names):
    with pytest.raises(InvalidInput) as e:
        parse(text)
    msg = str(e.value)
    assert names in msg
    assert "; " in msg and "\n" not in msg  # problem; fix — on one line


def test_a_path_where_none_is_allowed_is_refused():
    with pytest.raises(InvalidInput, match="takes no path; drop ':/a'"):
        parse("r@master:/a", path_allowed=False)


def test_clean_path_keeps_paths_inside_the_repo():
    assert clean_path("") == "/"
    assert clean_path("a\\b") == "/a/b"
    assert clean_path("/a/b/..") == "/a"
    with pytest.raises(InvalidInput, match="escapes the repo"):
        clean_path("..")


def test_names_and_commit_ids():
    assert validate_name("a-b_C9") == "a-b_C9"
    with pytest.raises(InvalidInput, match="invalid branch name"):
        validate_name("a b", "branch")
    assert is_commit_id(CID)
    assert not is_commit_id(CID[:-1])
    assert not is_commit_id("master")


# ---- projects: pachctl's --project, and the project/repo form pachd's Repo.String() prints ------

@pytest.mark.parametrize("text, project, key", [
    ("images@master", None, "images"),
    ("images@master", "default", "images"),
    ("images@master", "p1", "p1/images"),
    ("p1/images@master", None, "p1/images"),
    ("p1/images@master", "p1", "p1/images"),
    ("default/images@master", None, "images"),
])
def test_the_project_of_an_address_comes_from_project_or_its_qualifier(text, project, key):
    a = parse(text, project=project)
    assert a.repo == key and a.branch == "master"
    assert a.project == (project or (text.split("/")[0] if "/" in text else "default"))


@pytest.mark.parametrize("text, project, names", [
    ("p1/images@master", "p2", "names project p1 but --project is p2"),
    ("images@master", "bad name", "invalid project name 'bad name'"),
    ("bad name/images@master", None, "invalid project name 'bad name'"),
    ("a/b/images", None, "invalid project name 'a/b'"),
    ("/images", None, "invalid project name ''"),
    ("p1/", None, "invalid repo name ''"),
    ("-p/images", None, "invalid project name '-p': it must start with a letter or digit"),
])
def test_a_bad_project_in_an_address_is_refused_with_a_fix(text, project, names):
    with pytest.raises(InvalidInput) as e:
        parse(text, project=project)
    assert names in str(e.value) and "; " in str(e.value)


def test_project_names_follow_pachd():
    """pfs.Project.ValidateName: `default`; else ancestry's characters, at most 51 (a worker's
    "<project>-<pipeline>-v99" is a DNS label), starting with a letter or digit."""
    for good in ("default", "p", "P1", "0-a_b", "x" * 51):
        assert validate_project(good) == good
    for bad, names in (("x" * 52, "52 characters, pachd allows 51"), ("_a", "must start"),
                       ("-a", "must start"), ("a.b", "only alphanumeric"), ("", "only alphanumeric")):
        with pytest.raises(InvalidInput, match=names):
            validate_project(bad)


def test_keys_name_a_repo_across_projects():
    assert repo_key("default", "r") == repo_key(None, "r") == "r"
    assert repo_key("p1", "r") == "p1/r"
    for key in ("r", "p1/r"):
        assert repo_key(*split_key(key)) == key
    assert split_key("r") == ("default", "r")
    assert parse_name("pipe", "p1", "pipeline") == "p1/pipe"
    with pytest.raises(InvalidInput, match="invalid pipeline name 'a.b'"):
        parse_name("a.b", None, "pipeline")
