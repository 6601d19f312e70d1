"""The one entry point of the stage scripts.

A script passes `run` its docstring, the function that computes its outputs from the parsed
arguments, and its arguments as `arg(...)`s (--out-dir is added). `run` writes the files that
function returns (relative path -> text) under --out-dir, all of them or none, and turns a
`StageError` into one line on stderr and exit status 1: the datum fails with that line as its
reason, never with a traceback.

The parser is built, and a command line parsed, once per process: a warm worker runs a script
once per datum, and argparse costs ~0.4 ms a datum (gettext looks for translations on every help
string), more than the prediction itself.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
from collections.abc import Callable, Mapping
from typing import NamedTuple


class StageError(Exception):
    """Bad input, said in one line: where (file, file:line or flag), the problem, the fix."""

    def __init__(self, where: str, problem: str, fix: str):
        super().__init__(f"{where}: {problem}; {fix}")


class Arg(NamedTuple):
    """One argument, as ArgumentParser.add_argument takes it (hashable: parsers are cached)."""
    flags: tuple[str, ...]
    options: tuple[tuple[str, object], ...]


def arg(*flags: str, **options: object) -> Arg:
    return Arg(flags, tuple(sorted(options.items())))


@functools.lru_cache(maxsize=8)
def parser(doc: str, arguments: tuple[Arg, ...] = ()) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out-dir", required=True, metavar="DIR", help="where to write, e.g. /pfs/out")
    for a in arguments:
        p.add_argument(*a.flags, **dict(a.options))
    return p


@functools.lru_cache(maxsize=8)
def _parse(p: argparse.ArgumentParser, argv: tuple[str, ...]) -> argparse.Namespace:
    """Each datum of a job gives the same command line: parsed once (a copy goes to compute)."""
    return p.parse_args(argv)


def run(doc: str, compute: Callable[[argparse.Namespace], Mapping[str, str]], *arguments: Arg) -> None:
    args = argparse.Namespace(**vars(_parse(parser(doc, arguments), tuple(sys.argv[1:]))))
    try:
        write_all(args.out_dir, compute(args))
    except StageError as err:
        print(err, file=sys.stderr)
        sys.exit(1)


def write_all(out_dir: str, files: Mapping[str, str]) -> None:
    """Write every file under `out_dir`, or none: each goes to a temporary name first, and the
    names change once all are written."""
    staged: list[tuple[str, str]] = []
    try:
        for name, text in files.items():
            target = os.path.join(out_dir, name)
            folder, base = os.path.split(target)
            if folder and not os.path.isdir(folder):
                os.makedirs(folder, exist_ok=True)
            temp = os.path.join(folder, f".{base}.partial")
            staged.append((temp, target))
            with open(temp, "wb", buffering=0) as f:  # (bytes: no text-mode file object a datum)
                f.write(text.encode())
        for temp, target in staged:
            os.replace(temp, target)
    except OSError as err:
        for temp, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        raise StageError(out_dir, f"cannot write outputs ({err.strerror}: {err.filename})",
                         "check the output folder is a writable directory") from None
