"""Pachyderm's joins example (examples/joins): its Makefile makes the stores, purchases and
returns; inner_join and outer_join run the image's inner/main.py and outer/main.py (`python
inner/main.py` in the image's WORKDIR /app), reduce_inner concatenates per zip code. Specs, code
and Makefile are the example's; the image's /app is mapped to the example's src/."""

import pytest

from helpers import contents, datum_paths, datums

IMAGES = "pachyderm/example-joins-inner-outer:2.1.0:\n  workingDir: /app\n  /app: src\n"
STORES = {"1": ("02108", "washington st."), "2": ("02108", "hollywood bvd."),
          "3": ("90210", "beverly hills"), "4": ("94107", "mariposa st."),
          "5": ("90210", "tremont st.")}


@pytest.fixture
def retail(cli, example, make):
    """The example's `make setup` and `make deploy` (pachlite for pachctl)."""
    root = example("joins")
    make(root, "setup")
    (root / "pachlite-images.yaml").write_text(IMAGES)
    for repo in ("stores", "purchases", "returns"):
        cli("create", "repo", repo)
        cli("put", "file", "-r", f"{repo}@master:/", "-f", repo)
    return root


def store_of(name: str) -> str:
    return name.split("STOREID")[1].split(".")[0]


def test_inner_join_lists_purchases_by_zip_code(cli, retail):
    out = cli.out("create", "pipeline", "-f", "inner_join.pipeline.json")
    # One datum per (store, purchase) with the same store ID: store 4 has no purchase.
    assert "success: 6 + 0 / 6" in out
    # The README's table: each purchase under its store's zip code, with its size.
    listing = [line.split() for line in cli.out("glob", "file", "inner_join@master:/*/*").splitlines()[1:]]
    assert [(p, size) for p, _, size in listing] == [
        ("/02108/ORDERW078929_STOREID2.txt", "104B"), ("/02108/ORDERW080520_STOREID1.txt", "105B"),
        ("/02108/ORDERW080521_STOREID1.txt", "105B"), ("/90210/ORDERW080231_STOREID5.txt", "102B"),
        ("/90210/ORDERW080528_STOREID5.txt", "102B"), ("/90210/ORDERW598471_STOREID3.txt", "104B")]
    with cli.lib() as pfs:
        got = contents(pfs, "inner_join", text=True)
    for path, text in got.items():
        name = path.rsplit("/", 1)[1]
        zipcode, store = STORES[store_of(name)]
        purchase = (retail / "purchases" / name).read_text()
        assert text == f"\nPurchase at store: {store_of(name)} - {store} \n{purchase}"
        assert path.startswith(f"/{zipcode}/")

    # The reduce step of the example: one file per zip code, its purchases concatenated.
    cli("create", "pipeline", "-f", "reduce_inner.pipeline.json")
    with cli.lib() as pfs:
        reduced = contents(pfs, "reduce_inner", text=True)
    assert reduced == {f"/{z}.txt": "".join(t for p, t in sorted(got.items()) if p.startswith(f"/{z}/"))
                       for z in ("02108", "90210")}


def test_outer_join_keeps_stores_without_returns_and_returns_without_stores(cli, retail):
    assert "success: 7 + 0 / 7" in cli.out("create", "pipeline", "-f", "outer_join.pipeline.json")
    with cli.lib() as pfs:
        [job] = [j for j in cli.jobs() if j["pipeline"] == "outer_join"]
        pairs = sorted(tuple(datum_paths(d)) for d in datums(pfs, job))
        got = contents(pfs, "outer_join", text=True)
    # Stores 2, 3 and 4 had no return, store 0 does not exist: each is a datum of its own.
    assert pairs == sorted([("/ORDERW261452_STOREID0.txt",), ("/STOREID1.txt", "/ORDERW080520_STOREID1.txt"),
                            ("/STOREID2.txt",), ("/STOREID3.txt",), ("/STOREID4.txt",),
                            ("/STOREID5.txt", "/ORDERW080231_STOREID5.txt"),
                            ("/STOREID5.txt", "/ORDERW080528_STOREID5.txt")])
    assert sorted(got) == ["/02108/ORDERW080520_STOREID1.txt", "/02108/STOREID2.txt",
                           "/90210/ORDERW080231_STOREID5.txt", "/90210/ORDERW080528_STOREID5.txt",
                           "/90210/STOREID3.txt", "/94107/STOREID4.txt",
                           "/UNKNOWN/ORDERW261452_STOREID0.txt"]
    returned = (retail / "returns" / "ORDERW261452_STOREID0.txt").read_text()
    assert got["/UNKNOWN/ORDERW261452_STOREID0.txt"] == f"\nThis return store does not exist \n{returned}"
    assert got["/94107/STOREID4.txt"] == "\nReturn at store: 4 - mariposa st. \n"
