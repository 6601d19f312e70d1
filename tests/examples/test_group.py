"""Pachyderm's group example (examples/group): its Makefile makes lab results and the retail
data; group_by_patient and group_by_hospital copy each group's files in bash, group_store_revenue
runs the image's main.py (`python main.py` in the image's WORKDIR /app) over each store's
purchases and returns. Specs, code and Makefile are the example's; /app/main.py is mapped to the
example's src/main.py."""

import pytest

from helpers import contents

IMAGES = "pachyderm/example-group:2.1.0:\n  workingDir: /app\n  /app/main.py: src/main.py\n"


@pytest.fixture
def data(cli, example, make):
    """The example's `make setup-lab setup-retail` and its deploy targets (pachlite for pachctl)."""
    root = example("group")
    make(root, "setup-lab", "setup-retail")
    (root / "pachlite-images.yaml").write_text(IMAGES)
    for repo in ("labresults", "stores", "purchases", "returns"):
        cli("create", "repo", repo)
        cli("put", "file", "-r", f"{repo}@master:/", "-f", repo)
    return root


def test_lab_results_grouped_by_patient_and_by_hospital(cli, data):
    labs = sorted(p.name for p in (data / "labresults").iterdir())
    assert "success: 4 + 0 / 4" in cli.out("create", "pipeline", "-f", "lab_group_by_patient.pipeline.json")
    assert "success: 2 + 0 / 2" in cli.out("create", "pipeline", "-f", "lab_group_by_hospital.pipeline.json")
    with cli.lib() as pfs:
        by_patient = contents(pfs, "group_by_patient", text=True)
        by_hospital = contents(pfs, "group_by_hospital", text=True)
    # Each file copied under its capture group: PATID(*) or CLIA(*).
    assert by_patient == {f"/{n.split('-PATID')[1].split('-')[0]}/{n}": (data / "labresults" / n).read_text()
                          for n in labs}
    assert by_hospital == {f"/{n.split('-CLIA')[1].removesuffix('.txt')}/{n}":
                           (data / "labresults" / n).read_text() for n in labs}


def test_store_revenue_groups_stores_purchases_and_returns(cli, data):
    # One datum per store ID found in any of the three repos: 0 (a return only) to 5.
    assert "success: 6 + 0 / 6" in cli.out("create", "pipeline", "-f", "retail_group.pipeline.json")
    with cli.lib() as pfs:
        got = contents(pfs, "group_store_revenue", text=True)
    # From the Makefile's data: QTY x UNIT_PRICE of each store's purchases, less its returns.
    net = {"1": (450.0, 100.0), "2": (75.0, 0.0), "3": (300.0, 0.0), "4": (0.0, 0.0), "5": (450.0, 350.0)}
    names = {"1": "washington st.", "2": "hollywood bvd.", "3": "beverly hills", "4": "mariposa st.",
             "5": "tremont st."}
    expected = {f"/{s}.txt": f"\nStore: {s} - {names[s]} \n\nORDER_AMOUNT|{o}|RETURN_AMOUNT|{r}|NET_AMOUNT|{o - r}\n"
                for s, (o, r) in net.items()}
    expected["/0.txt"] = ("\nThis return store does not exist \n\n"
                          "ORDER_AMOUNT|0.0|RETURN_AMOUNT|50.0|NET_AMOUNT|-50.0\n")
    assert got == expected
