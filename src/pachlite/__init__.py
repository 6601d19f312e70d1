"""pachlite: Pachyderm's versioned data and pipeline semantics on a laptop.

From Python (a notebook): `pl = pachlite.open()`, then `pl.list_file("infer@master")`,
`pl.read_csv("training@master:/diabetes.csv")`; see pachlite.client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from pachlite.client import Client

__version__ = "0.1.0"


def open(root: str | Path | None = None) -> Client:  # pachlite.open(), as pachyderm_sdk.Client()
    """The store at root, or the one `pachlite` finds from the current folder, to read."""
    from pachlite.client import Client  # here: `pachlite run` imports this package, not pandas
    return Client(root)
