#!/usr/bin/env python3
"""The laptop loop's latency on the diabetes workflow (median of --repeat), after a cold run:

1. a no-op `snakemake` (nothing changed);
2. one stage's code edited (a line appended to scripts/train.py: model reprocesses, qcontrol and
   infer run on its unchanged output and skip their datums);
3. one input file added (a new data/attributes/N.json: one datum of infer).

Usage: .venv/bin/python benchmarks/loop_bench.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workflow_bench import copy_workflow, timed  # noqa: E402

BIN = Path(sys.executable).parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    smk = [str(BIN / "snakemake"), "--cores", "2"]
    noop, edit, add = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        wf = copy_workflow(Path(tmp) / "wf")
        timed(smk, wf)  # the cold run
        for i in range(args.repeat):
            noop.append(timed(smk, wf))
            with open(wf / "scripts/train.py", "a") as f:
                f.write(f"# edit {i}\n")
            edit.append(timed(smk, wf))
            shutil.copy(wf / "data/attributes/1.json", wf / f"data/attributes/{10 + i}.json")
            add.append(timed(smk, wf))
    m = statistics.median
    print(f"no-op snakemake: {m(noop):.2f} s")
    print(f"one stage's code edited (scripts/train.py): {m(edit):.2f} s")
    print(f"one input file added (data/attributes/N.json): {m(add):.2f} s")


if __name__ == "__main__":
    main()
