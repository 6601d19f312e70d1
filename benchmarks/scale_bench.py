#!/usr/bin/env python3
"""pachlite as N grows: N small attribute files, one datum each (glob /*), a trivial transform (a
Python copy of the datum's file to /pfs/out) so that the engine's own cost dominates. For each N:

1. `put file -r` of the N files into a new repo;
2. the cold job of N datums on 2 workers, vs a plain Python loop doing the same copies on 2
   processes (target <= 1.5x). Each runs --rounds times: the cold job (the pipeline deleted
   before the next) is the median; the loop, which writes N files to disk, its fastest run (into
   a new folder each time, the last one's removed and synced: at 10^6 a loop after such a
   removal took 230 s against 59 s for the first, the disk still busy with it), which is the
   ratio least favourable to pachlite;
3. add1: one new file put (`put file`), then `run` (one datum runs, N are carried) — the target is
   add1 at 10^5 and 10^6 within 1.2x of add1 at 10^4 (its cost independent of N); then `list
   datum` of the last add1 job (its N + 3 datums), `list file` of the output repo and `diff
   file` of it against the inputs (N + 3 files each), each with its time and peak RSS;
4. peak RSS of the largest process of any step (target < 1 GB);
5. the store's size on disk against the raw bytes of the files put and output;
6. the CPU time (user + system, every process) of the cold job and of the loop, beside their
   wall times: the loop's wall time is mostly the disk's (at 10^6 its fastest run took 58 s on
   one day and 143 s on another, the same command), so the CPU ratio shows whether a change of
   the wall-time ratio is pachlite's or the disk's.

Every command goes through the real CLI, timed by wall clock; each timed step starts after
os.sync(). Usage: python benchmarks/scale_bench.py [--n 10000 --n 100000] [--add1 3]
(--n 1000000 for the big one: it takes many minutes and ~3 GB of disk for the files and store).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
COPY = """\
import os, shutil
p = os.environ["attributes"]
shutil.copyfile(p, os.path.join("/pfs/out", os.path.basename(p)))
"""
PEAK = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
        "stdout=subprocess.DEVNULL); r = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "print(r.ru_maxrss, r.ru_utime + r.ru_stime)")


def attribute(rng: random.Random) -> bytes:
    return json.dumps({"independent_variables": [
        {"name": "bmi", "value": round(rng.uniform(-.1, .1), 6)},
        {"name": "ltg", "value": round(rng.uniform(-.1, .1), 6)}]}).encode()


def write_attributes(folder: Path, n: int, rng: random.Random) -> int:
    """N attribute files in a new folder; their bytes."""
    folder.mkdir()
    raw = 0
    for i in range(n):
        data = attribute(rng)
        raw += len(data)
        (folder / f"{i:07d}.json").write_bytes(data)
    return raw


def cpu_time(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def _copy_all(job: tuple[Path, Path, list[str]]) -> None:
    src, out, names = job
    for name in names:
        shutil.copyfile(src / name, out / name)


def plain_loop(src: Path, out: Path) -> tuple[float, float]:
    """The same copies without pachlite, on 2 processes → (wall, CPU) seconds."""
    t, cpu = time.perf_counter(), cpu_time(resource.RUSAGE_SELF) + cpu_time(resource.RUSAGE_CHILDREN)
    out.mkdir()
    names = sorted(os.listdir(src))
    with multiprocessing.Pool(2) as pool:
        pool.map(_copy_all, [(src, out, names[i::2]) for i in range(2)])
        pool.close()
        pool.join()  # (reaped: their CPU is counted)
    return (time.perf_counter() - t,
            cpu_time(resource.RUSAGE_SELF) + cpu_time(resource.RUSAGE_CHILDREN) - cpu)


def pachlite(env: dict, *args: str) -> tuple[float, float]:
    """Wall time, and peak RSS in MB of the largest process the command ran."""
    wall, mb, _ = pachlite_cpu(env, *args)
    return wall, mb


def pachlite_cpu(env: dict, *args: str) -> tuple[float, float, float]:
    """pachlite(), and the CPU time of every process the command ran (seconds)."""
    os.sync()
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PEAK, str(BIN / "pachlite"), *args], env=env,
                         check=True, capture_output=True, text=True).stdout
    maxrss, cpu = out.split()[-2:]
    return time.perf_counter() - t, int(maxrss) / 1024, float(cpu)


def du(path: Path) -> int:
    return sum(e.stat().st_size for e in path.rglob("*") if e.is_file())


def write_copy_pipeline(tmp: Path) -> Path:
    """The copy transform's script and its pipeline spec in `tmp`; the spec's path."""
    (tmp / "copy.py").write_text(COPY)
    spec = {"pipeline": {"name": "copy"}, "input": {"pfs": {"repo": "attributes", "glob": "/*"}},
            "transform": {"cmd": ["python3", str(tmp / "copy.py")]},
            "parallelismSpec": {"constant": 2}}
    (tmp / "spec.json").write_text(json.dumps(spec))
    return tmp / "spec.json"


def plain_loops(src: Path, tmp: Path, runs: int) -> list[tuple[float, float]]:
    """The plain loop `runs` times, each after the last one's output is removed and synced."""
    times = []
    for _ in range(runs):
        os.sync()
        times.append(plain_loop(src, tmp / "plain"))
        shutil.rmtree(tmp / "plain")
    os.sync()
    return times


def one_n(n: int, add1: int, rounds: int, tmp: Path, rng: random.Random) -> dict:
    src = tmp / f"attributes{n}"
    raw = write_attributes(src, n, rng)
    spec = write_copy_pipeline(tmp)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    store = tmp / f"store{n}"
    env = {**env, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PACHLITE_STORE": str(store)}
    peaks = []
    plains = plain_loops(src, tmp, rounds)
    pachlite(env, "create", "repo", "attributes")
    put, put_mb = pachlite(env, "put", "file", "attributes@master:/", "-r", "-f", str(src))
    colds, cold_mbs, cold_cpus = [], [], []
    for r in range(rounds):
        if r:
            subprocess.run([str(BIN / "pachlite"), "delete", "pipeline", "copy"], env=env,
                           check=True, capture_output=True)
        t, mb, cpu = pachlite_cpu(env, "create", "pipeline", "-f", str(spec), "--workers", "2")
        colds.append(t)
        cold_mbs.append(mb)
        cold_cpus.append(cpu)
    puts, runs = [], []
    for r in range(add1):
        extra = tmp / f"extra{r}.json"
        extra.write_bytes(attribute(rng))
        raw += extra.stat().st_size
        t, mb = pachlite(env, "put", "file", f"attributes@master:/zz{r}.json", "-f", str(extra))
        puts.append(t)
        peaks.append(mb)
        t, mb = pachlite(env, "run", "copy", "--workers", "2")
        runs.append(t)
        peaks.append(mb)
    out = subprocess.run([str(BIN / "pachlite"), "list", "job", "--raw"], env=env, check=True,
                         capture_output=True, text=True).stdout
    last = json.loads(out[:out.index("\n}\n") + 2])  # the newest JobInfo
    assert (last["state"], last["data_processed"], last.get("data_skipped")) == \
        ("JOB_SUCCESS", "1", str(n + add1 - 1)), last
    # Listing the newest job's datums: all N + add1 (N of them its base job's, skipped).
    listed, listed_mb = pachlite(env, "list", "datum", f"copy@{last['job']['id']}")
    # The output repo's N + add1 files: listed, and compared with the inputs (the same contents).
    files, files_mb = pachlite(env, "list", "file", "copy@master:/")
    diffed, diffed_mb = pachlite(env, "diff", "file", "copy@master", "attributes@master", "--name-only")
    size = du(store)
    m = statistics.median
    cold, cold_mb = m(colds), max(cold_mbs)
    fastest = min(plains)  # (wall, CPU) of the loop's fastest run
    return dict(n=n, put=put, listed=listed, listed_mb=listed_mb, files=files,
                files_mb=files_mb, diffed=diffed, diffed_mb=diffed_mb, plain=fastest[0],
                plains=[w for w, _ in plains], cold=cold, colds=colds,
                plain_cpu=fastest[1], plain_cpus=[c for _, c in plains], cold_cpu=m(cold_cpus),
                cold_cpus=cold_cpus,
                add1_put=m(puts), add1_run=m(runs),
                add1=m([a + b for a, b in zip(puts, runs)]), peak=max(put_mb, cold_mb, *peaks),
                peaks=(put_mb, cold_mb, max(peaks)), store=size,
                raw=2 * raw)  # the inputs and the copies the job output


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, action="append",
                    help="attribute files (repeatable; default 10000 and 100000)")
    ap.add_argument("--add1", type=int, default=3, help="add1 rounds per N (median)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="runs of the plain loop (fastest) and of the cold job (median) per N")
    ap.add_argument("--dir", help="where to make the files and stores (default: a temporary dir)")
    args = ap.parse_args()
    rng = random.Random(0)
    rows = []
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for n in args.n or [10_000, 100_000]:
            r = one_n(n, args.add1, args.rounds, Path(tmp), rng)
            rows.append(r)
            peaks = "/".join(f"{x:.0f}" for x in r["peaks"])
            runs = " vs ".join("/".join(f"{x:.2f}" for x in r[k]) for k in ("colds", "plains"))
            cpus = " vs ".join("/".join(f"{x:.2f}" for x in r[k]) for k in ("cold_cpus", "plain_cpus"))
            print(f"N={n:>8}: put -r {r['put']:7.2f} s | cold {r['cold']:7.2f} s vs plain loop "
                  f"{r['plain']:6.2f} s ({r['cold'] / r['plain']:.2f}x; runs {runs} s) | "
                  f"add1 {r['add1']:.2f} s "
                  f"(put {r['add1_put']:.2f} + run {r['add1_run']:.2f}) | CPU: cold "
                  f"{r['cold_cpu']:.2f} s vs the fastest loop's {r['plain_cpu']:.2f} s "
                  f"({r['cold_cpu'] / r['plain_cpu']:.2f}x; runs {cpus} s) | list datum "
                  f"{r['listed']:.2f} s ({r['listed_mb']:.0f} MB) | list file {r['files']:.2f} s "
                  f"({r['files_mb']:.0f} MB) | diff file {r['diffed']:.2f} s ({r['diffed_mb']:.0f} MB) | "
                  f"peak RSS "
                  f"{r['peak']:.0f} MB (put/cold/add1 {peaks}) | store {r['store'] / 2**20:.0f} MB "
                  f"for {r['raw'] / 2**20:.0f} MB raw ({r['store'] / r['raw']:.1f}x)", flush=True)
            # (after the figures: removing 10^6 files takes minutes)
            shutil.rmtree(Path(tmp) / f"store{n}")
            shutil.rmtree(Path(tmp) / f"attributes{n}")
    if len(rows) > 1:
        first = rows[0]
        for r in rows[1:]:
            print(f"add1 at N={r['n']} / add1 at N={first['n']}: {r['add1'] / first['add1']:.2f} "
                  "(target <= 1.2)")


if __name__ == "__main__":
    main()
