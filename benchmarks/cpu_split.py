#!/usr/bin/env python3
"""Where a cold job's CPU goes, on scale_bench.py's workload (N one-file datums, a Python copy of
each to /pfs/out, 2 workers):

1. N attribute files are put (`put file -r`) into a new store, and the cold job runs in a process
   whose threads each add up their own CPU time (the thread CPU clock, read as each thread ends):
   the records writer, the threads that serve the workers, the plan, the senders and the main
   thread; the workers are that process's children (their user and system time). What the
   job's process wrote and read through system calls (/proc/self/io: the store's database, its
   write-ahead log and its object files) is printed too;
2. inside one worker: the worker's loop (warm.serve, the code a warm worker runs, sealed as in a
   private namespace, here without one) serves M one-file datums laid out on tmpfs, once with the
   copy script and once with an empty one; and the copy script runs M times on its own, compiled
   and exec'd as the worker runs it. The copy's time in the loop less its time on its own is the
   worker's own work around a datum that writes one file. One part of that work is timed alone:
   entering a datum's environment (5M datums' variables through warm.DatumEnviron).

Usage: python benchmarks/cpu_split.py [--n 100000] [--datums 20000] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from scale_bench import BIN, COPY, write_attributes, write_copy_pipeline  # noqa: E402

# The job's process: each thread adds its CPU time to a table as it ends; at exit the table, the
# process's own and its children's rusage go to the file named by $CPU_SPLIT_OUT.
JOB = """\
import sys; sys.path.pop(0)  # the working folder: a copy.py there is not the standard module
import atexit, collections, json, os, resource, threading, time
cpu = collections.Counter()
run = threading.Thread.run
def timed(self):
    target = getattr(self, "_target", None)  # (gone once run() returns)
    try:
        run(self)
    finally:
        cpu[getattr(target, "__qualname__", None) or type(self).__name__] += time.thread_time()
threading.Thread.run = timed
def report():
    cpu["main"] += time.thread_time()
    me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    try:
        with open("/proc/self/io") as f:
            io = {k: int(v) for k, v in (line.split(": ") for line in f.read().splitlines())}
    except OSError:
        io = {}
    with open(os.environ["CPU_SPLIT_OUT"], "w") as f:
        json.dump({"threads": cpu, "self": [me.ru_utime, me.ru_stime],
                   "children": [kids.ru_utime, kids.ru_stime], "io": io}, f)
atexit.register(report)
sys.argv = ["pachlite", *sys.argv[1:]]
from pachlite.cli import main
main()
"""
THREADS = {  # thread target → what it does
    "DatumRecords.flushing.<locals>.every": "records writer",
    "_worker": "serving the workers",
    "Feed._make": "the plan (datums made)",
    "ServedWorker._send": "senders",
    "main": "main thread",
}

# One worker's loop over M datums in this process (argv: M, script text, folder).
LOOP = """\
import json, os, pickle, sys, time
from pathlib import Path
from pachlite.pps.executors import warm
from pachlite.store import hash_bytes
m, text, base = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
(base / "pfs").mkdir(parents=True)
(base / "objects").mkdir()
script = base / "script.py"
script.write_text(text.replace("/pfs/out", f"{base}/pfs/out"))  # /pfs without a namespace
tasks = []
for i in range(m):
    data = json.dumps({"independent_variables": [{"name": "bmi", "value": i / m}]}).encode()
    did = hash_bytes(b"%d" % i)
    tasks.append((did, [(f"attributes/{i:07d}.json", hash_bytes(data), data, None)],
                  {"attributes": f"{base}/pfs/attributes/{i:07d}.json", "PACH_DATUM_ID": did}))
batches = [tasks[i:i + 256] for i in range(0, m, 256)]
class Conn:  # the job's end of the socket: batches of 256 in, results out (pickled, as sent)
    def recv(self):
        return batches.pop(0) if batches else None
    def send(self, results):
        pickle.dumps(results)
out = os.dup(1)
t = time.process_time()
warm.serve(Conn(), str(script), [], dict(os.environ), base / "pfs", "/pfs", base / "objects",
           frozenset(), set(sys.modules))
os.write(out, b"%f" % ((time.process_time() - t) / m * 1e6))
"""
# The same script M times on its own: exec'd with the datum's variable set, as the worker runs it.
ALONE = """\
import builtins, json, os, sys, time
m, text, base = int(sys.argv[1]), sys.argv[2], sys.argv[3]
os.makedirs(base + "/pfs/out")
paths = []
for i in range(m):
    paths.append(f"{base}/in{i:07d}.json")
    with open(paths[-1], "w") as f:
        json.dump({"independent_variables": [{"name": "bmi", "value": i / m}]}, f)
code = compile(text.replace("/pfs/out", base + "/pfs/out"), base + "/script.py", "exec")
t = time.process_time()
for p in paths:
    os.environ["attributes"] = p
    exec(code, {"__name__": "__main__", "__file__": base + "/script.py", "__builtins__": builtins})
print((time.process_time() - t) / m * 1e6)
"""

# A datum's environment as a worker enters it, M times: a one-input datum's three variables, two
# of them new each datum (its input's path and PACH_DATUM_ID).
ENVIRON = """\
import os, sys, time
from pachlite.pps.executors.warm import DatumEnviron
m = int(sys.argv[1])
env = DatumEnviron(dict(os.environ), "/pfs")
datums = [{"attributes": f"/pfs/attributes/{i:07d}.json", "attributes_COMMIT": "c" * 32,
           "PACH_DATUM_ID": f"{i:064x}"} for i in range(m)]
t = time.process_time()
for d in datums:
    env.enter(d)
print((time.process_time() - t) / m * 1e6)
"""


def job_split(n: int, tmp: Path) -> dict:
    src = tmp / "attributes"
    write_attributes(src, n, random.Random(0))
    spec = write_copy_pipeline(tmp)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "PACHLITE_STORE": str(tmp / "store"), "CPU_SPLIT_OUT": str(tmp / "split.json")}
    pachlite = [str(BIN / "pachlite")]
    subprocess.run([*pachlite, "create", "repo", "attributes"], env=env, check=True)
    subprocess.run([*pachlite, "put", "file", "attributes@master:/", "-r", "-f", str(src)],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    os.sync()
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", JOB, "create", "pipeline", "-f", str(spec), "--workers", "2"],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    return {"wall": wall, **json.loads((tmp / "split.json").read_text())}


def per_datum(program: str, m: int, text: str) -> float:
    """µs of CPU a datum, from one of the programs above run in a process of its own on tmpfs."""
    base = Path(tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    try:
        out = subprocess.run([sys.executable, "-c", program, str(m), text, str(base / "w")],
                             check=True, capture_output=True, text=True).stdout
        return float(out)
    finally:
        shutil.rmtree(base)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="datums of the cold job")
    ap.add_argument("--datums", type=int, default=20_000, help="datums of the worker's loop")
    ap.add_argument("--dir", help="where to make the files and the store (default: a temporary dir)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        r = job_split(args.n, Path(tmp))
    own, kids = sum(r["self"]), sum(r["children"])
    print(f"cold job of {args.n} datums: {r['wall']:.2f} s wall, {own + kids:.2f} s CPU "
          f"({(own + kids) / args.n * 1e6:.0f} µs a datum)")
    print(f"  the job's process {own:7.2f} s")
    for name, cpu in sorted(r["threads"].items(), key=lambda kv: -kv[1]):
        print(f"    {THREADS.get(name, name):26} {cpu:7.2f} s")
    print(f"  the workers       {kids:7.2f} s (user {r['children'][0]:.2f}, system "
          f"{r['children'][1]:.2f})")
    if r["io"]:
        gib = {k: v / 2**30 for k, v in r["io"].items()}
        print(f"  the job's process wrote {gib['wchar']:.2f} GiB ({gib['write_bytes']:.2f} GiB of it "
              f"reached the disk) and read {gib['rchar']:.2f} GiB through system calls")
    copy = per_datum(LOOP, args.datums, COPY)
    empty = per_datum(LOOP, args.datums, "")
    alone = per_datum(ALONE, args.datums, COPY) - per_datum(ALONE, args.datums, "")
    print(f"one worker's loop, {args.datums} datums on tmpfs, CPU a datum: the copy script "
          f"{copy:.1f} µs, an empty script {empty:.1f} µs; the copy's own cost {alone:.1f} µs, "
          f"so the worker's own work around it {copy - alone:.1f} µs ({(copy - alone) / copy:.0%})")
    print(f"  of which entering a datum's environment (warm.DatumEnviron): "
          f"{per_datum(ENVIRON, 5 * args.datums, ''):.1f} µs")


if __name__ == "__main__":
    main()
