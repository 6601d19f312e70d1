"""A package's names loaded on first use (PEP 562), so that importing one light module of a
package (a Snakefile being parsed reads `store.branches` and `pfs.address`) does not import the
rest: `__getattr__ = lazy.exports(__name__, {"Name": "module", ...})` in its `__init__`."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def exports(package: str, names: dict[str, str]) -> Callable[[str], object]:
    """The package's module `__getattr__`: name → the submodule defining it, imported once."""
    def __getattr__(name: str):
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        setattr(sys.modules[package], name, value)  # the next look-up finds it directly
        return value
    return __getattr__
