#!/usr/bin/env python3
"""The laptop loop's latency (median of --repeat), after a cold run, on the diabetes workflow and
on the workflow `pachlite init` scaffolds:

1. a no-op `snakemake --cores 2` (nothing changed);
2. one stage's code edited (a comment line appended to the script: its pipeline reprocesses every
   datum; in the diabetes workflow scripts/train.py, so model reprocesses and qcontrol and infer
   run on its unchanged output and skip their datums; in the scaffold scripts/summary.py, both
   readings files);
3. one input file added (diabetes: a new data/attributes/N.json, one datum of infer; scaffold:
   a new data/readings/2025-NN.csv, one datum of summary).

Usage: .venv/bin/python benchmarks/loop_bench.py [--repeat 3] [--workflow diabetes|scaffold|both]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workflow_bench import ENV, copy_workflow, timed  # noqa: E402

BIN = Path(sys.executable).parent

# workflow: (the stage script edited, the input file copied, the name of the copy for run i)
LOOPS = {
    "diabetes": ("scripts/train.py", "data/attributes/1.json", "data/attributes/{}.json"),
    "scaffold": ("scripts/summary.py", "data/readings/2024-01.csv", "data/readings/2025-{:02d}.csv"),
}


def scaffold(dest: Path) -> Path:
    subprocess.run([str(BIN / "pachlite"), "init", str(dest)], env=ENV, check=True,
                   stdout=subprocess.DEVNULL)
    return dest


def loop(name: str, repeat: int) -> tuple[float, float, float]:
    script, sample, added = LOOPS[name]
    smk = [str(BIN / "snakemake"), "--cores", "2"]
    noop, edit, add = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        wf = (copy_workflow if name == "diabetes" else scaffold)(Path(tmp) / "wf")
        timed(smk, wf)  # the cold run
        for i in range(repeat):
            noop.append(timed(smk, wf))
            with open(wf / script, "a") as f:
                f.write(f"# edit {i}\n")
            edit.append(timed(smk, wf))
            shutil.copy(wf / sample, wf / added.format(10 + i))
            add.append(timed(smk, wf))
    m = statistics.median
    return m(noop), m(edit), m(add)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workflow", choices=["diabetes", "scaffold", "both"], default="both")
    args = ap.parse_args()
    for name in (LOOPS if args.workflow == "both" else [args.workflow]):
        script, _, added = LOOPS[name]
        noop, edit, add = loop(name, args.repeat)
        print(f"{name} workflow (median of {args.repeat}):")
        print(f"  no-op snakemake: {noop:.2f} s")
        print(f"  one stage's code edited ({script}): {edit:.2f} s")
        print(f"  one input file added ({added.replace('{}', 'N').replace('{:02d}', 'NN')}): {add:.2f} s")


if __name__ == "__main__":
    main()
