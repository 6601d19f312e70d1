#!/usr/bin/env python3
"""Workflow overheads, measured in one run (median of --repeat):

1. no-op `snakemake` of the whole workflow vs the no-op of a bare Snakemake workflow with the same
   number of rules (target ≤ 1.2×);
2. a cold run of the whole workflow on the embedded data vs the same stage programs run once each,
   in order, by a plain shell script (target ≤ 2×);
3. with --container (needs a Docker engine): the stage image's size, and a cold run with every
   datum in that image (`--config container=True`) next to the local cold run.

Usage: .venv/bin/python benchmarks/workflow_bench.py [--repeat 3] [--container]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WORKFLOW = ["Snakefile", "pipelines.py", "rules", "config", "data", "scripts", "report"]
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
ENV.pop("PYTHONDONTWRITEBYTECODE", None)  # cached bytecode, as Python's default
ENV.pop("PACHLITE_STORE", None)


def timed(cmd: list[str], cwd: Path) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=ENV, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def copy_workflow(dest: Path) -> Path:
    dest.mkdir()
    for name in WORKFLOW:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest / name)
    return dest


def rule_count(wf: Path) -> int:
    out = subprocess.run([str(BIN / "snakemake"), "--list-rules"], cwd=wf, env=ENV, check=True,
                         capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if line.strip() and not line.startswith(" "))


def bare_workflow(dest: Path, rules: int) -> Path:
    """A chain of `rules - 1` touch rules and rule all: Snakemake's own floor for that many rules."""
    lines = ["rule all:", f"    input: 'out/r{rules - 2}'", ""]
    for i in range(rules - 1):
        dep = f"    input: 'out/r{i - 1}'\n" if i else ""
        lines += [f"rule r{i}:", dep + f"    output: 'out/r{i}'", "    shell: 'touch {output}'", ""]
    (dest / "Snakefile").write_text("\n".join(lines))
    return dest


def stage_script(dest: Path) -> Path:
    """The stage programs once each, in order, on local folders: the work without pachlite."""
    py = sys.executable
    s = dest / "stages.sh"
    s.write_text(f"""set -e
cd {ROOT}
o={dest}/o; rm -rf $o; mkdir -p $o/split $o/model $o/qc $o/qcontrol $o/infer
{py} scripts/split.py --in data/diabetes.csv --train-rows 398 --out-dir $o/split
{py} scripts/train.py --in $o/split/training.csv --features bmi,ltg --out-dir $o/model
{py} scripts/qc_pre_process.py --in $o/split/holdout.csv --out-dir $o/qc
{py} scripts/qcontrol.py --model $o/model/model.json --test-dir $o/qc --threshold 60.0 --out-dir $o/qcontrol
{py} scripts/infer.py --model $o/qcontrol/model.json --attributes data/attributes --out-dir $o/infer
""")
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--container", action="store_true",
                    help="also build the stage image and time a cold run in container mode")
    args = ap.parse_args()
    smk = [str(BIN / "snakemake"), "--cores", "2"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cold, noop = [], []
        for i in range(args.repeat):
            wf = copy_workflow(tmp / f"wf{i}")
            cold.append(timed(smk, wf))
            noop.append(timed(smk, wf))
        n = rule_count(tmp / "wf0")
        (tmp / "bare").mkdir()
        bare = bare_workflow(tmp / "bare", n)
        bare_cold = []
        for _ in range(args.repeat):  # Snakemake's own floor for a cold run of that many rules
            shutil.rmtree(bare / "out", ignore_errors=True)
            shutil.rmtree(bare / ".snakemake", ignore_errors=True)
            bare_cold.append(timed(smk, bare))
        bare_noop = [timed(smk, bare) for _ in range(args.repeat)]
        script = stage_script(tmp)
        plain = [timed(["bash", str(script)], tmp) for _ in range(args.repeat)]
        if args.container:
            import docker
            sys.path.insert(0, str(ROOT / "tests"))
            from docker_helpers import stage_image  # needs `make wheels` and the offline base
            image = stage_image("pachlite/diabetes:latest")
            size = docker.from_env().images.get(image).attrs["Size"] / 1e6
            in_containers = [timed(smk + ["--config", "container=True"], copy_workflow(tmp / f"c{i}"))
                             for i in range(args.repeat)]
    m = statistics.median
    print(f"rules in the workflow: {n}")
    print(f"no-op snakemake, pachlite workflow: {m(noop):.2f} s   bare {n}-rule workflow: "
          f"{m(bare_noop):.2f} s   ratio {m(noop) / m(bare_noop):.2f} (target <= 1.2)")
    print(f"cold run, pachlite workflow: {m(cold):.2f} s   stage programs by a shell script: "
          f"{m(plain):.2f} s   ratio {m(cold) / m(plain):.2f} (target <= 2.0)")
    print(f"  for scale: a cold run of the bare {n}-rule workflow (touch rules): {m(bare_cold):.2f} s")
    if args.container:
        print(f"stage image pachlite/diabetes:latest: {size:.0f} MB")
        print(f"cold run, every datum in a container: {m(in_containers):.2f} s   "
              f"local: {m(cold):.2f} s")


if __name__ == "__main__":
    main()
