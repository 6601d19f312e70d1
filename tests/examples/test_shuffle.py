"""Pachyderm's shuffle example (examples/shuffle): a bash transform over two emptyFiles inputs
finds them with `find -L /pfs` and links each into a folder named after the fruit. Spec and data
are the example's; its commands are the README's."""

import pytest

from helpers import contents

FRUITS = ("apple", "mango")


@pytest.fixture
def shuffled(cli, example):
    root = example("shuffle")
    cli("create", "repo", "fruits")
    for f in FRUITS:
        cli("put", "file", "fruits@master", "-f", f"{f}.jpeg")
    cli("create", "repo", "pricing")
    for f in FRUITS:
        cli("put", "file", "pricing@master", "-f", f"{f}.json")
    out = cli.out("create", "pipeline", "-f", "shuffle.pipeline.json")
    assert "success: 4 + 0 / 4" in out  # a datum per file of the union
    return root


def test_each_fruits_files_land_in_its_folder(cli, shuffled):
    # The README's `glob file shuffle@master:/**`, sizes and all: a folder per fruit, its image
    # and its price.
    listing = [line.split() for line in cli.out("glob", "file", "shuffle@master:/**").splitlines()[1:]]
    assert listing == [["/apple/", "dir", "5KiB"], ["/apple/cost.json", "file", "23B"],
                       ["/apple/img.jpeg", "file", "4.978KiB"], ["/mango/", "dir", "7.051KiB"],
                       ["/mango/cost.json", "file", "22B"], ["/mango/img.jpeg", "file", "7.029KiB"]]


def test_links_to_empty_files_are_the_inputs_content(cli, shuffled):
    # The worker copies what a link into an emptyFiles input names, not the empty file it laid out.
    with cli.lib() as pfs:
        got = contents(pfs, "shuffle")
    assert got == {**{f"/{f}/img.jpeg": (shuffled / f"{f}.jpeg").read_bytes() for f in FRUITS},
                   **{f"/{f}/cost.json": (shuffled / f"{f}.json").read_bytes() for f in FRUITS}}
