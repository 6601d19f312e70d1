"""Fixtures shared by the test modules. Plain helpers (put, contents, Cli, ...) are in helpers.py:
a conftest is not meant to be imported."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import Cli, Workflow
from pachlite.pfs import PFS
from pachlite.store import Store


@pytest.fixture
def store(tmp_path: Path):
    """An empty store in tmp_path/store, closed after the test."""
    s = Store(tmp_path / "store")
    yield s
    s.close()


@pytest.fixture
def pfs(store: Store) -> PFS:
    """The library on the `store` fixture: no repos yet."""
    return PFS(store)


@pytest.fixture
def open_pfs():
    """Open the library on another store: open_pfs(root) -> PFS, closed after the test."""
    opened: list[Store] = []

    def open_(root: Path) -> PFS:
        opened.append(Store(root))
        return PFS(opened[-1])

    yield open_
    for s in opened:
        s.close()


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """The real `pachlite` command on an empty store, run in tmp_path."""
    return Cli(tmp_path)


@pytest.fixture
def wf(tmp_path: Path) -> Workflow:
    """A copy of the project in tmp_path to run the real `snakemake` in. A test that runs the
    workflow with it is marked slow."""
    return Workflow.copy(tmp_path)
