"""PFS benchmark: prints figures, asserts nothing.

    python benchmarks/pfs_bench.py [--files 100000] [--csv-mb 50] [--workdir DIR]

1. `pachlite put file -r` of N small JSON files (~100 bytes) vs a plain Python loop copying the
   same files into a new folder, median of 3 each, in the same run (target: ratio <= 1.5).
   Then the identical tree is put again: object bytes added (target: 0).
2. `pachlite list file` and `pachlite get file` of one file in that N-file commit, wall clock of
   the CLI process as a user runs it, median of 5 (target: < 0.3 s each).
3. A commit of a CSV of `--csv-mb` MB: MB/s next to `cp` of the same file (median of 3).

Every pachlite figure is a real `pachlite` process (from the PATH, or next to this Python) with
PACHLITE_STORE pointing at a fresh store, so startup and imports are counted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def pachlite_exe() -> str:
    here = Path(sys.executable).parent / "pachlite"
    return str(here) if here.exists() else (shutil.which("pachlite") or "pachlite")


PACHLITE = pachlite_exe()


def run(store: Path, *args: str, stdout=subprocess.DEVNULL) -> float:
    """Wall-clock seconds of one `pachlite ARGS` process; raise if it fails."""
    env = dict(os.environ, PACHLITE_STORE=str(store))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure with cached bytecode, as Python's default
    t = time.perf_counter()
    r = subprocess.run([PACHLITE, *args], env=env, stdout=stdout, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"pachlite {' '.join(args)} failed: {r.stderr.decode().strip()}")
    return dt


def make_tree(root: Path, n: int) -> int:
    """n JSON records of ~100 bytes, 1000 per directory; returns the total bytes."""
    rnd = random.Random(42)
    total = 0
    for i in range(n):
        d = root / f"part-{i // 1000:04d}"
        if i % 1000 == 0:
            d.mkdir(parents=True)
        rec = {"id": i, "age": rnd.randint(18, 90), "bmi": round(rnd.uniform(18, 40), 2),
               "bp": round(rnd.uniform(60, 140), 1), "target": rnd.randint(25, 346)}
        data = json.dumps(rec).encode()
        data += b" " * max(0, 99 - len(data)) + b"\n"
        (d / f"record-{i:07d}.json").write_bytes(data)
        total += len(data)
    return total


def copy_loop(src: Path, dest: Path) -> None:
    """The baseline: what a user's own script would do to snapshot the folder."""
    for dirpath, _, names in os.walk(src):
        out = dest / os.path.relpath(dirpath, src)
        out.mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copyfile(os.path.join(dirpath, name), out / name)


def object_bytes(store: Path) -> int:
    """Bytes of content held by the store: inline objects plus object files."""
    con = sqlite3.connect(store / "pachlite.db")
    try:
        inline = con.execute("SELECT COALESCE(SUM(size), 0) FROM objects "
                             "WHERE data IS NOT NULL").fetchone()[0]
    finally:
        con.close()
    return inline + sum(p.stat().st_size for p in (store / "objects").rglob("*") if p.is_file())


def metadata_bytes(store: Path) -> int:
    return sum(p.stat().st_size for p in store.glob("pachlite.db*"))


def timed(fn) -> float:
    os.sync()  # earlier runs' dirty pages are flushed first, not charged to this one
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def median_of(k: int, fn) -> float:
    return statistics.median(fn(i) for i in range(k))


def bench_tree(work: Path, n: int) -> Path:
    src = work / "tree"
    t = time.perf_counter()
    size = make_tree(src, n)
    print(f"tree: {n} files, {size / 1e6:.1f} MB in {n // 1000 + (n % 1000 > 0)} directories "
          f"(generated in {time.perf_counter() - t:.1f} s)")

    def loop(i: int) -> float:
        dest = work / f"copy{i}"
        dt = timed(lambda: copy_loop(src, dest))
        shutil.rmtree(dest)
        return dt

    def put(i: int) -> float:
        store = work / f"store{i}"
        shutil.rmtree(store, ignore_errors=True)
        run(store, "create", "repo", "bench")
        os.sync()
        return run(store, "put", "file", "bench@master", "-r", "-f", str(src))

    # Interleaved, so both see the same page cache and machine load.
    loops, puts = [], []
    for i in range(3):
        loops.append(loop(i))
        puts.append(put(i))
    lm, pm = statistics.median(loops), statistics.median(puts)
    print(f"copy loop          median {lm:7.2f} s   runs {', '.join(f'{x:.2f}' for x in loops)}")
    print(f"put file -r        median {pm:7.2f} s   runs {', '.join(f'{x:.2f}' for x in puts)}")
    print(f"ratio put/loop     {pm / lm:.2f}x of the medians, {pm / min(loops):.2f}x of the fastest "
          f"loop run (target <= 1.5x)")

    store = work / "store2"
    before = object_bytes(store)
    meta_before = metadata_bytes(store)
    t = run(store, "put", "file", "bench@master", "-r", "-f", str(src))
    added = object_bytes(store) - before
    meta_added = metadata_bytes(store) - meta_before
    print(f"re-put identical   {t:7.2f} s   object bytes added: {added} (target 0); "
          f"metadata grew {meta_added / 1e6:.1f} MB (the new commit's file rows)")
    return store


def bench_reads(store: Path, n: int) -> None:
    i = n // 2
    path = f"bench@master:/tree/part-{i // 1000:04d}/record-{i:07d}.json"
    lf = median_of(5, lambda _: run(store, "list", "file", path))
    gf = median_of(5, lambda _: run(store, "get", "file", path))
    print(f"list file (1 file) median {lf:6.3f} s   (target < 0.3 s)")
    print(f"get file  (1 file) median {gf:6.3f} s   (target < 0.3 s)")
    ld = median_of(5, lambda _: run(store, "list", "file", "bench@master:/tree/part-0000"))
    print(f"list file (a directory of 1000) median {ld:6.3f} s")
    lr = median_of(3, lambda _: run(store, "list", "file", "bench@master:/tree"))
    print(f"list file (the {n // 1000}-directory parent of all {n} files) median {lr:6.3f} s")


def bench_csv(work: Path, mb: int) -> None:
    csv = work / "big.csv"
    rnd = random.Random(7)
    with open(csv, "w") as f:
        f.write("age,sex,bmi,bp,s1,s2,s3,s4,s5,s6,target\n")
        while f.tell() < mb * 1_000_000:
            f.write(",".join(f"{rnd.uniform(-0.1, 0.1):.6f}" for _ in range(10))
                    + f",{rnd.randint(25, 346)}\n")
    size = csv.stat().st_size

    def put(i: int) -> float:
        store = work / f"csvstore{i}"
        shutil.rmtree(store, ignore_errors=True)
        run(store, "create", "repo", "csv")
        os.sync()
        return run(store, "put", "file", "csv@master:/big.csv", "-f", str(csv))

    def cp(i: int) -> float:
        dest = work / f"cp{i}.csv"
        dt = timed(lambda: subprocess.run(["cp", str(csv), str(dest)], check=True))
        dest.unlink()
        return dt

    puts, cps = [], []
    for i in range(3):
        cps.append(cp(i))
        puts.append(put(i))
    pm, cm = statistics.median(puts), statistics.median(cps)
    print(f"CSV {size / 1e6:.0f} MB: put file {size / 1e6 / pm:7.0f} MB/s ({pm:.2f} s)   "
          f"cp {size / 1e6 / cm:7.0f} MB/s ({cm:.2f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--csv-mb", type=int, default=50)
    ap.add_argument("--workdir", help="scratch folder (default: a new temporary one, removed)")
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="pfs-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"pachlite: {PACHLITE}\nscratch: {work}\n")
    try:
        store = bench_tree(work, args.files)
        bench_reads(store, args.files)
        bench_csv(work, args.csv_mb)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
