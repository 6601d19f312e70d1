"""The layering docs/architecture.md describes, checked on the source rather than trusted:
SQL only in the persistence layer, imports only downward, no import cycle, modules a reader can
take in one sitting, and a page that names every module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from helpers import ROOT

SRC = ROOT / "src" / "pachlite"
LAYERS = ["store", "pfs", "pps", "cli"]  # each may import only those before it
MAX_LINES = 400
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
                 r"CREATE\s+(TABLE|INDEX|VIEW)|PRAGMA)\b", re.I)


def modules() -> dict[str, Path]:
    """Dotted module name → file, for every module of the engine."""
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports(path: Path) -> set[str]:
    """The pachlite modules a file imports at module level (not inside functions)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in tree.body:
        if isinstance(node, ast.If):  # `if TYPE_CHECKING:` blocks import for annotations only
            continue
        for n in ast.walk(node) if isinstance(node, (ast.Import, ast.ImportFrom, ast.Try)) else []:
            if isinstance(n, ast.Import):
                found |= {a.name for a in n.names if a.name.startswith("pachlite")}
            elif isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("pachlite"):
                found.add(n.module)
                found |= {f"{n.module}.{a.name}" for a in n.names}
    return found & set(modules())


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_sql_lives_only_in_the_persistence_layer():
    offenders = [f"{name}:{i}" for name, path in modules().items() if not name.startswith("pachlite.store")
                 for i, line in enumerate(path.read_text().splitlines(), 1)
                 if SQL.search(line) and not line.lstrip().startswith("#")]
    assert offenders == []


def test_a_layer_imports_only_the_layers_below_it():
    wrong = []
    for name, path in modules().items():
        mine = layer(name)
        if mine is None:
            continue
        for other in imports(path):
            theirs = layer(other)
            if theirs is not None and theirs > mine:
                wrong.append(f"{name} imports {other}")
    assert wrong == []


def test_only_the_cli_may_import_the_notebook_api():
    """client.py sits beside the CLI: the engine below never depends on it."""
    assert [name for name, path in modules().items() if layer(name) in (0, 1, 2)
            and "pachlite.client" in imports(path)] == []


def test_no_import_cycle_at_module_level():
    graph = {name: {m for m in imports(path) if m != name} for name, path in modules().items()}
    # A package's __init__ re-exporting its submodules is how a package works, not a cycle.
    graph = {n: {m for m in deps if not n.startswith(m + ".") and not m.startswith(n + ".")}
             for n, deps in graph.items()}
    cycles, state = [], {}

    def visit(n, stack):
        state[n] = "open"
        for m in graph.get(n, ()):
            if state.get(m) == "open":
                cycles.append(" -> ".join(stack[stack.index(m):] + [m]))
            elif m not in state:
                visit(m, stack + [m])
        state[n] = "done"
    for n in graph:
        if n not in state:
            visit(n, [n])
    assert cycles == []


def test_every_module_reads_in_one_sitting_or_says_why_not():
    long = [f"{name} ({len(path.read_text().splitlines())} lines)" for name, path in modules().items()
            if len(path.read_text().splitlines()) > MAX_LINES
            and "long because" not in (ast.get_docstring(ast.parse(path.read_text())) or "")]
    assert long == []


def test_the_engine_imports_nothing_of_the_example():
    example = {p.stem for p in (ROOT / "scripts").rglob("*.py")} | {"pipelines", "diabetes"}
    wrong = [f"{name}: {n.module}" for name, path in modules().items()
             for n in ast.walk(ast.parse(path.read_text()))
             if isinstance(n, ast.ImportFrom) and n.module and n.module.split(".")[0] in example]
    assert wrong == []


def test_the_architecture_page_names_every_module_and_only_modules_that_exist():
    page = (ROOT / "docs" / "architecture.md").read_text()
    table = page[page.index("\n## Modules\n"):]
    table = table[:table.find("\n## ", 1)]
    named = set(re.findall(r"^\| `((?:[a-z_]+/)*[a-z_]+\.py)`", table, re.M))
    files = {str(p.relative_to(SRC)) for p in modules().values()}
    assert sorted(files - named) == [] and sorted(named - files) == []
