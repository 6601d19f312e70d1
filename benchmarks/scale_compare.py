#!/usr/bin/env python3
"""Two versions of pachlite side by side at N: `put file -r` of N small files, the cold job of N
datums (the copy transform of scale_bench.py, 2 workers) and three add1 rounds (`put file` of one
new file + `run`), alternating before/after each round so that both see the same load. Prints
the medians of wall time, CPU time (user + system of the command's whole process tree: steadier
than wall time on a shared machine) and the peak RSS of the largest process.

Usage: python benchmarks/scale_compare.py --before OLD/src --after NEW/src [--n 100000] [--rounds 4]
(each a `src` folder of a pachlite checkout, e.g. `git worktree add ../old fcc995b`). The
sources' bytecode is compiled first: one compiled and one not would differ by ~40 ms a command.
"""

from __future__ import annotations

import argparse
import compileall
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from scale_bench import BIN, attribute, write_attributes, write_copy_pipeline  # noqa: E402

# Runs a command; prints its wall time, its process tree's CPU time and its largest peak RSS.
MEASURE = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
           "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
           "r = resource.getrusage(resource.RUSAGE_CHILDREN); "
           "print(time.perf_counter() - t, r.ru_utime + r.ru_stime, r.ru_maxrss)")
STEPS = ("put", "cold", "add1 put", "add1 run")


def measure(src: Path, store: Path, *args: str) -> tuple[float, float, float]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", PYTHONPATH=str(src),
               PACHLITE_STORE=str(store))
    os.sync()
    out = subprocess.run([sys.executable, "-c", MEASURE, str(BIN / "pachlite"), *args], env=env,
                         check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1]), int(out[2]) / 1024


def one_round(src: Path, tmp: Path, files: Path, rng: random.Random, r: int) -> dict:
    store = tmp / "store"
    shutil.rmtree(store, ignore_errors=True)
    measure(src, store, "create", "repo", "attributes")
    out = {"put": [measure(src, store, "put", "file", "attributes@master:/", "-r", "-f", str(files))],
           "cold": [measure(src, store, "create", "pipeline", "-f", str(tmp / "spec.json"),
                            "--workers", "2")], "add1 put": [], "add1 run": []}
    for i in range(3):
        extra = tmp / "extra.json"
        extra.write_bytes(attribute(rng))
        out["add1 put"].append(measure(src, store, "put", "file", f"attributes@master:/zz{r}-{i}.json",
                                       "-f", str(extra)))
        out["add1 run"].append(measure(src, store, "run", "copy", "--workers", "2"))
    shutil.rmtree(store)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, type=Path, help="the src folder of the code before")
    ap.add_argument("--after", required=True, type=Path, help="the src folder of the code after")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    versions = {"before": args.before.resolve(), "after": args.after.resolve()}
    for src in versions.values():
        compileall.compile_dir(str(src), quiet=1)
    rng = random.Random(0)
    res = {v: {k: [] for k in STEPS} for v in versions}
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        files = tmp / "attributes"
        write_attributes(files, args.n, rng)
        write_copy_pipeline(tmp)
        for r in range(args.rounds):
            for v in (("before", "after") if r % 2 == 0 else ("after", "before")):
                for k, got in one_round(versions[v], tmp, files, rng, r).items():
                    res[v][k] += got
            print(f"round {r + 1} of {args.rounds} done", file=sys.stderr, flush=True)
    m = statistics.median
    print(f"N={args.n}, {args.rounds} rounds: median wall s / median CPU s / peak RSS MB")
    for k in STEPS:
        b, a = res["before"][k], res["after"][k]
        cells = [f"{m([x[0] for x in v]):.2f} / {m([x[1] for x in v]):.2f} / {max(x[2] for x in v):.0f}"
                 for v in (b, a)]
        print(f"  {k:9} before {cells[0]:>22} | after {cells[1]:>22} | after/before CPU "
              f"{m([x[1] for x in a]) / m([x[1] for x in b]):.2f}")


if __name__ == "__main__":
    main()
