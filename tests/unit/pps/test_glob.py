"""Glob patterns as Pachyderm (github.com/pachyderm/ohmyglob) matches them.

Expected matches are written out from reference/SEMANTICS.md ("Cases every implementation must
get right") and from ohmyglob's own test suite (extglob_test.go, capture_test.go).
"""


import random

import pytest

from pachlite.errors import InvalidInput
from pachlite.pps.glob import (
    GlobMatch,
    clean_glob,
    compile_glob,
    expand_template,
    glob_paths,
    glob_rows,
    implied_paths,
)

F50 = [f"/foo{i}" for i in range(50)]
# SEMANTICS case 8
TREE = ([f"/file{i}" for i in range(100)] + [f"/dir1/file{i}" for i in range(100)]
        + [f"/dir2/dir3/file{i}" for i in range(100)])
# SEMANTICS case 9
DIRS = ["/dir1/file1.1", "/dir1/file1.2", "/dir2/file2.1", "/dir2/file2.2"]


def paths(pattern, files):
    return [m.path for m in glob_paths(pattern, files)]


# --- SEMANTICS.md cases 1-3, 8, 9 ---------------------------------------------------------------

def test_negated_superstar_matches_nothing():
    assert paths("!(**)", F50) == []


def test_single_char_wildcard():
    assert paths("/foo?1", F50) == ["/foo11", "/foo21", "/foo31", "/foo41"]


def test_star_within_a_name():
    assert sorted(paths("/foo*2", F50)) == sorted(["/foo2", "/foo12", "/foo22", "/foo32", "/foo42"])


def test_matches_come_in_path_order():
    assert paths("/foo*2", F50) == ["/foo12", "/foo2", "/foo22", "/foo32", "/foo42"]


def test_star_matches_top_level_files_and_directories():
    got = paths("*", TREE)
    assert len(got) == 102
    assert set(got) == {f"/file{i}" for i in range(100)} | {"/dir1/", "/dir2/"}


def test_star_slash_star_matches_depth_two():
    got = paths("*/*", TREE)
    assert len(got) == 101
    assert set(got) == {f"/dir1/file{i}" for i in range(100)} | {"/dir2/dir3/"}


def test_directory_prefix():
    assert set(paths("dir1/*", TREE)) == {f"/dir1/file{i}" for i in range(100)}


def test_superstar_crosses_directories():
    got = paths("**file1?", TREE)
    assert len(got) == 30
    assert set(got) == ({f"/file1{i}" for i in range(10)} | {f"/dir1/file1{i}" for i in range(10)}
                        | {f"/dir2/dir3/file1{i}" for i in range(10)})


def test_superstar_suffix():
    assert paths("**.2", DIRS) == ["/dir1/file1.2", "/dir2/file2.2"]


def test_star_matches_directories_with_their_subtree():
    assert glob_paths("/*", DIRS) == [
        GlobMatch("/dir1/", True, (), ("/dir1/file1.1", "/dir1/file1.2")),
        GlobMatch("/dir2/", True, (), ("/dir2/file2.1", "/dir2/file2.2")),
    ]


def test_root_is_one_match_with_every_file():
    assert glob_paths("/", DIRS) == [GlobMatch("/", True, (), tuple(DIRS))]


def test_a_matched_directory_carries_nested_files():
    [m] = glob_paths("/dir2", TREE)
    assert m.is_dir and m.files == tuple(sorted(f"/dir2/dir3/file{i}" for i in range(100)))


def test_superstar_yields_overlapping_files_and_directories():
    assert paths("/**", ["/a/b/c", "/a/d"]) == ["/a/", "/a/b/", "/a/b/c", "/a/d"]


def test_empty_commit_has_no_matches_even_for_root():
    assert glob_paths("/", []) == []


# --- syntax -------------------------------------------------------------------------------------

@pytest.mark.parametrize("pattern, path, matches", [
    ("/*", "/a", True),
    ("/*", "/a/b", False),  # * stays within one name
    ("/**", "/a/b", True),
    ("/a?c", "/abc", True),
    ("/a?c", "/a/c", False),
    ("/foo", "/foo1", False),  # anchored at the end
    ("/foo", "/a/foo", False),  # and at the start
    ("/[abc].txt", "/b.txt", True),
    ("/[abc].txt", "/d.txt", False),
    ("/[!a-c].txt", "/b.txt", False),
    ("/[!a-c].txt", "/d.txt", True),
    ("/[^a-c].txt", "/d.txt", True),
    ("/{a,b}.txt", "/b.txt", True),
    ("/{a,b}.txt", "/c.txt", False),
    ("/@(a|b).txt", "/a.txt", True),
    ("/*(ab).txt", "/abab.txt", True),
    ("/+(ab).txt", "/.txt", False),
    ("/a?(x).txt", "/a.txt", True),
    ("/*.!(js)", "/a.json", True),
    ("/*.!(js)", "/a.js", False),
    ("/!(*.csv)", "/a.txt", True),
    ("/!(*.csv)", "/a.csv", False),
    ("/a\\*b", "/a*b", True),
    ("/a\\*b", "/axb", False),
    ("/dir", "/dir/", True),  # a directory, spelled with its trailing slash
])
def test_pattern_syntax(pattern, path, matches):
    assert (compile_glob(pattern).match(path) is not None) is matches


# From ohmyglob's extglob_test.go (patterns and subjects there carry no leading "/").
@pytest.mark.parametrize("matches, pattern, subject", [
    (True, "*.(a|b)", "a.b"),
    (False, "*.(a|b)", "a.bb"),
    (True, "@(ab|a*(b))*(c)d", "abbcd"),
    (False, "@(b+(c)d|e+(f)g?|?(h)i@(j|k))", "egz"),
    (True, "*(f*(o))", "foooofof"),
    (False, "*(f*(o))", "foooofofx"),
    (True, "ab**(e|f)g", "abcfefg"),
    (False, "ab*d+(e|f)", "abd"),
    (True, "para?([345]|99)1", "para991"),
    (False, "!(foo)*", "foobar"),
    (True, "!(!(foo))", "foo"),
    (False, "!(*.*).!(*.*)", "moo.cow"),
    (True, "@(!(z*)|*x)", "zoox"),
    (False, "*-!(integration)-test.js", "a-integration-test.js"),
    (True, "*te!(gration-te)st.js", "a-integration-test.js"),
    (False, "*.!(js)*", "foo.js.js"),
    (True, "!(*.a|*.b|*.c)", "a.abcd"),
    (False, "*.!(a|b|c)*", "a.abcd"),
])
def test_matches_like_ohmyglob(matches, pattern, subject):
    assert (compile_glob(pattern).match("/" + subject) is not None) is matches


def test_root_only_matches_the_root_pattern():
    assert compile_glob("/").match("/") == ()
    assert compile_glob("/*").match("/") is None
    assert compile_glob("/**").match("/") is None


@pytest.mark.parametrize("pattern, cleaned", [
    ("*", "/*"), ("", "/"), ("/", "/"), ("/a/", "/a"), ("a//b", "/a/b"), ("/a/./b/../c", "/a/c"),
])
def test_clean_glob(pattern, cleaned):
    assert clean_glob(pattern) == cleaned
    assert compile_glob(pattern).pattern == cleaned


def test_compiled_patterns_are_cached():
    assert compile_glob("/cached/*") is compile_glob("/cached/*")


def test_implied_paths_add_every_ancestor_directory_in_order():
    assert implied_paths(["/a/b/c", "/a.txt", "/z"]) == [
        "/", "/a.txt", "/a/", "/a/b/", "/a/b/c", "/z"]
    assert implied_paths([]) == []


# --- capture groups and templates ---------------------------------------------------------------

@pytest.mark.parametrize("pattern, path, groups", [
    ("/STOREID(*).txt", "/STOREID12.txt", ("12",)),
    ("/*_STOREID(*).txt", "/ORDERW080520_STOREID1.txt", ("1",)),
    ("/foo(?)(?)", "/foo42", ("4", "2")),
    ("/a*(x).txt", "/a.txt", ("",)),  # a group that matched nothing
    # nested groups number by their "(" from the left (ohmyglob's capture_test.go)
    ("/test*(/?(+(a|b)/*.go))", "/test/a/x.go", ("/a/x.go", "a/x.go", "a")),
    ("/{a,b}/(*)", "/b/x", ("x",)),  # braces do not capture
    ("/*", "/x", ()),
])
def test_capture_groups(pattern, path, groups):
    assert compile_glob(pattern).match(path) == groups


@pytest.mark.parametrize("template, expected", [
    ("$1", "1"),
    ("${2}", "42"),
    ("$0", "/STOREID1/42.txt"),
    ("store", "store"),  # no $: literal
    ("${1}x", "1x"),
    ("$1x", "1x"),  # digits end the group number
    ("s$1-$2", "s1-42"),
    ("$9", ""),  # no such group
    ("$$1", "$1"),
    ("$", "$"),
    ("$x", "$x"),
    ("${1", "${1"),
])
def test_expand_template(template, expected):
    groups = compile_glob("/STOREID(*)/(*).txt").match("/STOREID1/42.txt")
    assert expand_template(template, groups, "/STOREID1/42.txt") == expected


# --- bad patterns -------------------------------------------------------------------------------

@pytest.mark.parametrize("pattern, problem", [
    ("/foo[", "'[' at position 4 is never closed"),
    ("/foo[]", "empty character class"),
    ("/foo[!]", "empty character class"),
    ("/{a,b", "'{' at position 1 is never closed"),
    ("/(a|b", "'(' at position 1 is never closed"),
    ("/*(a", "'(' at position 2 is never closed"),
    ("/a)", "unbalanced ')'"),
    ("/a}", "unbalanced '}'"),
    ("/a]", "unbalanced ']'"),
    ("/{a)", "')' at position 3 closes the '{' at position 1"),
    ("/[z-a]", "bad character range z-a"),
    ("/a\\", "ends with a lone '\\'"),
])
def test_bad_globs_say_what_and_how_to_fix(pattern, problem):
    with pytest.raises(InvalidInput) as e:
        compile_glob(pattern)
    assert e.value.where.startswith(f"glob '{pattern}'")
    assert problem in e.value.problem
    assert e.value.fix


def test_error_positions_refer_to_the_cleaned_pattern():
    with pytest.raises(InvalidInput) as e:
        compile_glob("foo[")
    assert e.value.where == "glob 'foo[' (cleaned: '/foo[')"


def test_glob_paths_rejects_a_bad_glob():
    with pytest.raises(InvalidInput):
        glob_paths("/foo[", F50)


@pytest.mark.parametrize("pattern", ["/", "/*", "/**", "/*/*", "/a*", "/**.csv", "/*/", "/?",
                                     "/{a,b}*/*", "/(a|b)*/**", "/a/**", "/!(a)", "/*/*/*"])
@pytest.mark.parametrize("seed", range(6))
def test_glob_rows_streams_the_matches_glob_paths_makes(pattern, seed):
    """glob_rows (glob file, reading a commit in path order) against glob_paths (a job's glob
    over the whole list): the same matches in the same order, each folder's size its files'."""
    rng = random.Random(seed)
    names = ["a", "b", "a.csv", "a-b", "ab", "b.csv", "c"]
    sizes = {}
    for _ in range(rng.randrange(1, 40)):
        path = "/" + "/".join(rng.choice(names) for _ in range(rng.randrange(1, 4)))
        if any(p.startswith(path + "/") or path.startswith(p + "/") for p in sizes):
            continue  # a file where a folder is, or under a file
        sizes[path] = rng.randrange(100)
    rows = [(p, f"h{p}", n) for p, n in sorted(sizes.items())]
    want = [(m.path, m.is_dir, sum(sizes[f] for f in m.files), None if m.is_dir else f"h{m.path}")
            for m in glob_paths(pattern, list(sizes))]
    assert list(glob_rows(pattern, iter(rows))) == want


def test_glob_rows_takes_its_rows_as_a_one_pass_stream():
    """glob file reads a commit once, in path order: glob_rows asks nothing more of its rows."""
    rows = ((f"/d{i // 1000:03d}/f{i % 1000:03d}", "h", 1) for i in range(200_000))
    matched = glob_rows("/*", rows)
    assert next(matched) == ("/d000/", True, 1000, None)
    assert sum(1 for _ in matched) == 199  # (a generator of the rows: none of them is listed)


# --- scale (speed is measured by benchmarks/pps_bench.py, not asserted here) ---------------------

@pytest.mark.parametrize("pattern", ["/*", "/*.json", "/a*", "/**", "/?", "/*/", "/(a|b)*", "/**/*"])
def test_a_commit_of_top_level_files_matches_as_one_with_folders_does(pattern):
    """(Top-level files alone skip the walk for implied folders: same matches, same order.)"""
    flat = ["/a.json", "/b", "/.hidden", "/a", "/ab.txt", "/b.json"]
    general = [m for m in glob_paths(pattern, [*flat, "/zz/nested"]) if not m.path.startswith("/zz")]
    assert glob_paths(pattern, flat) == general
    assert [m.path for m in glob_paths(pattern, [*flat, *flat])] == [m.path for m in general]


def test_hundred_thousand_files_glob():
    files = [f"/file{i:06d}.csv" for i in range(100_000)]
    matches = glob_paths("/*", files)
    assert len(matches) == 100_000 and matches[0].path == "/file000000.csv"


@pytest.mark.parametrize("pattern", ["/*", "/a*", "/(a|b)?", "/!(a1)", "/**", "/*/*"])
def test_a_commit_of_top_level_files_matches_as_any_commit_does(pattern):
    """Top-level files only take a shorter way (each path a file, no folder but the root): the
    same matches as when a folder beside them sends the commit the general way."""
    flat = ["/b2", "/a1", "/a10", "/c", "/a1"]  # unsorted, one path twice
    general = glob_paths(pattern, [*flat, "/zz/deep"])
    assert glob_paths(pattern, flat) == [m for m in general if not m.path.startswith("/zz")]
