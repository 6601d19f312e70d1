#!/usr/bin/env python3
"""PPS at scale, measured in one run beside a plain Python loop doing the same work:

1. cold job: N datums of one small JSON file each (glob /*), crossed with one model file, a Python
   transform, 2 workers — vs a loop that reads each input file, computes, writes each output file
   (target ≤ 1.5×). Two transforms: a plain script that a warm interpreter runs once per datum
   (it reads the model again for every datum), and a datumBatching one (pachyderm_sdk) that reads
   the model once per worker, as the loop reads it once;
2. add one file and run again (target ≤ 2 s, whatever N);
3. peak memory of that job (target < 500 MB);
4. a process per datum: `sh -c 'cp …'` over the first --process-datums files, each datum a
   command forked in its worker's private namespace (the cost of the runner itself, per datum).

Jobs run through the real CLI (`pachlite run`), timed by wall clock as a user sees them; each timed
step starts after os.sync(), so the disk write-back of the step before is not in its time. Beside
each wall time, the CPU seconds (user + system, every process of the step) — on a shared machine
the CPU ratio moves less than the wall ratio.
Usage: .venv/bin/python benchmarks/pps_bench.py [--datums 100000] [--repeat 3] [--no-batching]
       [--process-datums 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

BIN = Path(sys.executable).parent

# One prediction per attribute file, paths from Pachyderm's environment variables.
PREDICT = """\
path = os.environ["attributes"]
with open(path) as f:
    values = {v["name"]: v["value"] for v in json.load(f)["independent_variables"]}
y = model["intercept"] + sum(c["coefficient"] * values[c["name"]] for c in model["coefficients"])
with open(os.path.join(sys.argv[1], os.path.basename(path)), "w") as f:
    json.dump({"predicted_diabetes_progression": y}, f)
"""
# A plain script, run once per datum (by a warm interpreter): it reads the model every time.
TRANSFORM = """\
import json, os, sys
with open(os.path.join(os.environ["model"], "model.json")) as f:
    model = json.load(f)
""" + PREDICT
# The same with datumBatching (Pachyderm's own pachyderm_sdk.batch_all_datums, each datum asked
# for through the worker's NextDatum endpoint): the model is read once per worker and commit, as
# the plain loop reads it once.
BATCHED = """\
import json, os, sys
from pachyderm_sdk import batch_all_datums

models = {}


@batch_all_datums
def predict():
    key = (os.environ["model_COMMIT"], os.path.join(os.environ["model"], "model.json"))
    if key not in models:
        with open(key[1]) as f:
            models[key] = json.load(f)
    model = models[key]
""" + textwrap.indent(PREDICT, "    ") + """

if __name__ == "__main__":
    predict()
"""
MODEL = {"intercept": 152.13, "coefficients": [{"name": "bmi", "coefficient": 675.07},
                                               {"name": "ltg", "coefficient": 614.95}]}


def attribute(rng: random.Random) -> bytes:
    return json.dumps({"independent_variables": [{"name": "bmi", "value": round(rng.uniform(-.1, .1), 6)},
                                                 {"name": "ltg", "value": round(rng.uniform(-.1, .1), 6)}]}).encode()


def plain_loop(src: Path, model_path: Path, out: Path) -> tuple[float, float]:
    """The same computation without pachlite: read each file, compute, write each output.
    → (wall, CPU) seconds."""
    t, cpu = time.perf_counter(), time.process_time()
    out.mkdir()
    with open(model_path) as f:
        model = json.load(f)
    for name in os.listdir(src):
        with open(src / name) as f:
            values = {v["name"]: v["value"] for v in json.load(f)["independent_variables"]}
        y = model["intercept"] + sum(c["coefficient"] * values[c["name"]] for c in model["coefficients"])
        with open(out / name, "w") as f:
            json.dump({"predicted_diabetes_progression": y}, f)
    return time.perf_counter() - t, time.process_time() - cpu


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def pachlite(env: dict, *args: str) -> tuple[float, float]:
    """Run the CLI → (wall, CPU of it and every process it waited for) seconds."""
    t, cpu = time.perf_counter(), children_cpu()
    subprocess.run([str(BIN / "pachlite"), *args], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t, children_cpu() - cpu


PEAK = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
        "stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def pachlite_peak(env: dict, *args: str) -> tuple[float, float]:
    """Wall time, and peak RSS in MB of the largest process the command ran (pachlite or a worker)."""
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PEAK, str(BIN / "pachlite"), *args], env=env,
                         check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - t, int(out.split()[-1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datums", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-batching", action="store_true", help="skip the datumBatching job")
    ap.add_argument("--process-datums", type=int, default=2000,
                    help="datums of the process-per-datum job (0: skip it)")
    args = ap.parse_args()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "attributes"
        src.mkdir()
        for i in range(args.datums):
            (src / f"{i:06d}.json").write_bytes(attribute(rng))
        (tmp / "model").mkdir()
        (tmp / "model/model.json").write_text(json.dumps(MODEL))
        (tmp / "transform.py").write_text(TRANSFORM)
        (tmp / "batched.py").write_text(BATCHED)
        spec = {"pipeline": {"name": "predict"},
                "input": {"cross": [{"pfs": {"repo": "attributes", "glob": "/*"}},
                                    {"pfs": {"repo": "model", "glob": "/"}}]},
                "transform": {"cmd": ["python3", "transform.py", "/pfs/out"]},
                "parallelismSpec": {"constant": 2}}
        (tmp / "spec.json").write_text(json.dumps(spec))
        batched = {**spec, "pipeline": {"name": "predict-batched"},
                   "transform": {"cmd": ["python3", "batched.py", "/pfs/out"], "datumBatching": True}}
        (tmp / "batched.json").write_text(json.dumps(batched))
        sample = tmp / "sample"  # the process-per-datum job's input
        sample.mkdir()
        for name in sorted(os.listdir(src))[:args.process_datums]:
            (sample / name).write_bytes((src / name).read_bytes())
        per_process = {"pipeline": {"name": "copy"},
                       "input": {"pfs": {"repo": "sample", "glob": "/*"}},
                       "transform": {"cmd": ["sh", "-c", 'cp "$sample" /pfs/out/']},
                       "parallelismSpec": {"constant": 2}}
        (tmp / "process.json").write_text(json.dumps(per_process))
        plain, cold, cold_batched, incremental, peaks, process = [], [], [], [], [], []
        for r in range(args.repeat):
            # Each timed step starts from a synced disk, so that the write-back of what the last
            # step wrote (10^5 files) is not counted in the next one's time.
            os.sync()
            plain.append(plain_loop(src, tmp / "model/model.json", tmp / f"plain{r}"))
            # Cached bytecode, as Python's default (a set PYTHONDONTWRITEBYTECODE adds ~0.15 s to
            # every command, which the incremental job's 2 s target is not about).
            env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
            env = {**env, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
                   "PACHLITE_STORE": str(tmp / f"store{r}")}
            pachlite(env, "create", "repo", "attributes")
            pachlite(env, "create", "repo", "model")
            pachlite(env, "put", "file", "attributes@master:/", "-r", "-f", str(src))
            pachlite(env, "put", "file", "model@master:/model.json", "-f", str(tmp / "model/model.json"))
            os.chdir(tmp)
            os.sync()
            cold.append(pachlite(env, "create", "pipeline", "-f", "spec.json", "--workers", "2"))
            if not args.no_batching:
                os.sync()
                cold_batched.append(pachlite(env, "create", "pipeline", "-f", "batched.json",
                                             "--workers", "2"))
            if args.process_datums:
                pachlite(env, "create", "repo", "sample")
                pachlite(env, "put", "file", "sample@master:/", "-r", "-f", str(sample))
                os.sync()
                process.append(pachlite(env, "create", "pipeline", "-f", "process.json",
                                        "--workers", "2"))
            extra = tmp / f"extra{r}.json"
            extra.write_bytes(attribute(rng))
            pachlite(env, "put", "file", f"attributes@master:/zz{r}.json", "-f", str(extra))
            os.sync()
            seconds, mb = pachlite_peak(env, "run", "predict", "--workers", "2")
            incremental.append(seconds)
            peaks.append(mb)
            raw = subprocess.run([str(BIN / "pachlite"), "list", "job", "--raw"], env=env,
                                 check=True, capture_output=True, text=True).stdout
            # pachctl's JSON: one JobInfo object after another (int64 counts as strings)
            jobs = json.loads(f"[{raw.replace(chr(10) + '}' + chr(10) + '{', chr(10) + '},{')}]")
            jobs = {(j["job"]["pipeline"]["name"], j["data_processed"]): j for j in jobs}
            assert all(j["state"] == "JOB_SUCCESS" for j in jobs.values()), jobs
            assert jobs["predict", "1"].get("data_skipped") == str(args.datums), jobs
            assert ("predict", str(args.datums)) in jobs, jobs
            assert args.no_batching or ("predict-batched", str(args.datums)) in jobs, jobs
            assert not args.process_datums or ("copy", str(args.process_datums)) in jobs, jobs
    m = statistics.median

    def timed(runs: list[tuple[float, float]]) -> str:
        wall, cpu = m(r[0] for r in runs), m(r[1] for r in runs)
        return (f"{wall:.2f} s (CPU {cpu:.2f} s)   ratio {wall / m(r[0] for r in plain):.2f}, "
                f"CPU ratio {cpu / m(r[1] for r in plain):.2f} (target <= 1.5)")
    print(f"datums: {args.datums}, workers: 2, repeats: {args.repeat} (medians)")
    print(f"plain Python loop: {m(r[0] for r in plain):.2f} s (CPU {m(r[1] for r in plain):.2f} s)")
    print(f"cold job, warm script (model read per datum): {timed(cold)}")
    if cold_batched:
        print(f"cold job, datumBatching (model read per worker): {timed(cold_batched)}")
    print(f"job after adding one file: {m(incremental):.2f} s (target <= 2 s)")
    print(f"peak RSS of that job's largest process: {max(peaks):.0f} MB (target < 500 MB)")
    if process:
        wall = m(r[0] for r in process)
        print(f"cold job, a process per datum (sh -c cp), {args.process_datums} datums: {wall:.2f} s "
              f"(CPU {m(r[1] for r in process):.2f} s), {wall / args.process_datums * 1000:.1f} ms "
              "a datum")


if __name__ == "__main__":
    main()
