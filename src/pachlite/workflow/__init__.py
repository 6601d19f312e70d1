"""The generic workflow's rule files, shipped with the engine so every Snakefile (the example's,
and those `pachlite init` scaffolds) includes the same rule-making: `include: workflow.rules("pipelines")`."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent


def rules(name: str) -> str:
    """The absolute path of a rule file of this package, for a Snakefile's `include:`."""
    return str(HERE / f"{name}.smk")
