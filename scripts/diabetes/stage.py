"""The one entry point of the stage scripts.

A script builds its argument parser with `parser(__doc__)` (which adds --out-dir), and passes it
to `run` with the function that computes its outputs from the parsed arguments. `run` writes the
files that function returns (relative path -> text) under --out-dir, all of them or none, and
turns a `StageError` into one line on stderr and exit status 1: the datum fails with that line
as its reason, never with a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path


class StageError(Exception):
    """Bad input, said in one line: where (file, file:line or flag), the problem, the fix."""

    def __init__(self, where: str, problem: str, fix: str):
        super().__init__(f"{where}: {problem}; {fix}")


def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out-dir", required=True, metavar="DIR", help="where to write, e.g. /pfs/out")
    return p


def run(parser: argparse.ArgumentParser, compute: Callable[[argparse.Namespace], Mapping[str, str]]) -> None:
    args = parser.parse_args()
    try:
        write_all(args.out_dir, compute(args))
    except StageError as err:
        print(err, file=sys.stderr)
        sys.exit(1)


def write_all(out_dir: str, files: Mapping[str, str]) -> None:
    """Write every file under `out_dir`, or none: each goes to a temporary name first, and the
    names change once all are written."""
    staged: list[tuple[Path, Path]] = []
    try:
        for name, text in files.items():
            target = Path(out_dir, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = target.with_name(f".{target.name}.partial")
            staged.append((temp, target))
            temp.write_text(text, encoding="utf-8")
        for temp, target in staged:
            os.replace(temp, target)
    except OSError as err:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        raise StageError(out_dir, f"cannot write outputs ({err.strerror}: {err.filename})",
                         "check the output folder is a writable directory") from None
