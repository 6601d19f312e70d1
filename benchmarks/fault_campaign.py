#!/usr/bin/env python3
"""Fault campaign: kill -9 the real `pachlite` command at random moments, then check the store.

A template store holds a small DAG: repo `images` (200 small files, then 20 more in a second
commit) → A (a plain `python3 a.py`, run by warm workers; a datum per top-level entry, glob /*)
→ B (glob /, a `sh -c` command: one summary of A's output); `images` → C (`sh -c`, a process per
datum), D (datumBatching) and, with --docker, E (C's command in a container); repo `spare` holds
three 300 KB objects. Each trial copies the template, picks an operation at random, starts it as
a subprocess of the `pachlite` on PATH, and kills it with SIGKILL at a moment drawn uniformly over
the operation's duration (measured unbroken in a calibration run). Then:

- `pachlite fsck` must print "no problems found" (else: a corrupt store);
- no commit that existed before may be gone, except those of a repo or pipeline the operation
  deletes (else: lost commits);
- `pachlite run` brings every pipeline up to date, and each output repo's files (path → hash)
  must equal those of an unbroken run on the same input files in a fresh store (else: a mismatch);
- after a killed `run`: the datums whose user code had finished before the kill, those the killed
  job had recorded as finished (its completed datum sets: the re-run must not run these again),
  and how many of each ran again (each transform appends "<pipeline> <datum>" to a log outside
  the store).

This prints figures; it is not a test. Usage:
  .venv/bin/python benchmarks/fault_campaign.py [--trials 200] [--seed 13] [--docker] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pachlite.errors import PachliteError
from pachlite.pfs import PFS
from pachlite.pfs.address import parse
from pachlite.pps.records import FLUSH_ROWS, FLUSH_S
from pachlite.store import Store

PACHLITE = shutil.which("pachlite") or str(Path(sys.executable).parent / "pachlite")
IMAGE = "pachlite-base:bookworm"  # --docker: a local image with sh (no pull during the campaign)

# A: each file of the datum → /pfs/out/<same path>: its sha256, and a line in the log. Each
# datum also takes 10 ms, as real work would: else a run is all start-up and a kill point drawn
# over its duration almost never falls among its datums.
A_PY = """\
import hashlib, os, sys, time
time.sleep(0.01)
src = os.environ["images"]
base = os.path.dirname(src)
files = [src] if os.path.isfile(src) else sorted(
    os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs)
for path in files:
    rel = os.path.relpath(path, base)
    os.makedirs(os.path.join(sys.argv[1], os.path.dirname(rel)), exist_ok=True)
    with open(path, "rb") as f, open(os.path.join(sys.argv[1], rel), "w") as out:
        out.write(hashlib.sha256(f.read()).hexdigest() + "\\n")
with open(os.environ["CAMPAIGN_LOG"], "a") as log:
    log.write("A " + os.path.basename(src) + "\\n")
"""
D_PY = """\
import hashlib, os, sys, time
from pachlite.batch import batch_all_datums


@batch_all_datums
def one():
""" + "".join("    " + line + "\n" for line in A_PY.splitlines()[1:]).replace('"A "', '"D "') + """

if __name__ == "__main__":
    one()
"""
# C (and E): the same with a shell per datum.
C_SH = ('sleep 0.01; cd "$(dirname "$images")" && find "$(basename "$images")" -type f | sort | '
        'while read -r f; do mkdir -p "$1/$(dirname "$f")"; '
        'sha256sum < "$f" | cut -c1-64 > "$1/$f"; done; '
        '{ echo "$0 $(basename "$images")" >> "$CAMPAIGN_LOG"; } 2>/dev/null || true')  # E: no log
B_SH = ('find /pfs/A -type f | sort | xargs cat | sha256sum | cut -c1-64 > /pfs/out/summary.txt; '
        'echo "B /" >> "$CAMPAIGN_LOG"')


def specs(code: Path, log: Path, docker: bool) -> dict[str, dict]:
    env = {"CAMPAIGN_LOG": str(log)}

    def spec(name, repo, glob, cmd, **transform):
        return {"pipeline": {"name": name}, "input": {"pfs": {"repo": repo, "glob": glob}},
                "transform": {"cmd": cmd, "env": env, **transform}}

    out = {
        "A": spec("A", "images", "/*", ["python3", str(code / "a.py"), "/pfs/out"]),
        "B": spec("B", "A", "/", ["sh", "-c", B_SH]),
        "C": spec("C", "images", "/*", ["sh", "-c", C_SH, "C", "/pfs/out"]),
        "D": spec("D", "images", "/*", ["python3", str(code / "d.py"), "/pfs/out"],
                  datumBatching=True),
        "N": spec("N", "images", "/*", ["sh", "-c", C_SH, "N", "/pfs/out"]),  # made by create-pipeline
    }
    if docker:
        out["E"] = spec("E", "images", "/*", ["sh", "-c", C_SH, "E", "/pfs/out"], image=IMAGE)
    return out


class Campaign:
    def __init__(self, work: Path, seed: int, docker: bool):
        self.work, self.rng, self.docker = work, random.Random(seed), docker
        self.code, self.log = work / "code", work / "datums.log"
        self.code.mkdir(parents=True)
        (self.code / "a.py").write_text(A_PY)
        (self.code / "d.py").write_text(D_PY)
        self.specs = specs(self.code, self.log, docker)
        for name, s in self.specs.items():
            (self.code / f"{name}.json").write_text(json.dumps(s))
        self.data = work / "data"
        self._write_data()
        self.gc = subprocess.run([PACHLITE, "gc", "--help"], capture_output=True).returncode == 0
        self.references: dict = {}
        self.n_ref = 0
        self.known_fsck: set[str] = set()  # what fsck says of the unbroken template

    # ---- running pachlite ------------------------------------------------------------------

    def env(self, store: Path) -> dict:
        return {**os.environ, "PACHLITE_STORE": str(store)}

    def cli(self, store: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        p = subprocess.run([PACHLITE, *args], env=self.env(store), cwd=self.code,
                           capture_output=True, text=True)
        if check and p.returncode != 0:
            raise RuntimeError(f"pachlite {' '.join(args)}: {p.stderr.strip()}")
        return p

    def _write_data(self) -> None:
        rng = random.Random(1)
        for i in range(200):
            p = self.data / "images" / f"file-{i:03d}.txt"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(f"{i} {rng.random()}\n")
        for sub, n in (("extra", 20), ("batch", 50)):
            for i in range(n):
                p = self.data / sub / sub / f"f{i:02d}.txt"  # data/<sub>/<sub>/...: put as /<sub>/...
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(f"{sub} {i}\n")
        for i in range(150):  # what a killed run has to do: a datum per file
            p = self.data / "run" / f"run-{i:03d}.txt"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(f"run {i}\n")
        (self.data / "one.txt").write_text("one\n")
        (self.data / "tail.txt").write_text("appended\n")
        for i in range(3):
            (self.data / "spare" / f"big{i}.bin").parent.mkdir(parents=True, exist_ok=True)
            (self.data / "spare" / f"big{i}.bin").write_bytes(rng.randbytes(300_000))

    def build_template(self) -> Path:
        store = self.work / "template"
        self.cli(store, "create", "repo", "images")
        self.cli(store, "put", "file", "images@master:/", "-r", "-f", str(self.data / "images"))
        self.cli(store, "put", "file", "images@master:/", "-r", "-f", str(self.data / "extra"))
        self.cli(store, "create", "repo", "spare")
        self.cli(store, "put", "file", "spare@master:/", "-r", "-f", str(self.data / "spare"))
        for name in self.specs:
            if name != "N":
                self.cli(store, "create", "pipeline", "-f", f"{name}.json",
                         *(["--container"] if name == "E" else []))
        return store

    # ---- the operations ---------------------------------------------------------------------

    def operations(self) -> list[str]:
        ops = ["put-one", "put-r", "put-append", "run-warm", "run-cold", "run-batching",
               "create-pipeline", "delete-pipeline", "create-branch", "delete-repo"]
        if self.docker:
            ops.append("run-container")
        if self.gc:
            ops.append("gc")
        return ops

    def prepare(self, op: str, store: Path) -> list[str]:
        """Set the store up for op (not killed); return op's pachlite arguments."""
        if op.startswith("run-"):
            self.cli(store, "put", "file", "images@master:/", "-r", "-f", str(self.data / "run"))
        if op == "gc":
            self.cli(store, "delete", "repo", "spare")
        return {
            "put-one": ["put", "file", "images@master:/one.txt", "-f", str(self.data / "one.txt")],
            "put-r": ["put", "file", "images@master:/", "-r", "-f", str(self.data / "batch")],
            "put-append": ["put", "file", "images@master:/file-000.txt", "--append",
                           "-f", str(self.data / "tail.txt")],
            "run-warm": ["run", "A", "B"],
            "run-cold": ["run", "C"],
            "run-batching": ["run", "D"],
            "run-container": ["run", "E", "--container"],
            "create-pipeline": ["create", "pipeline", "-f", "N.json"],
            "delete-pipeline": ["delete", "pipeline", "B"],
            "create-branch": ["create", "branch", "images@master", "--head", "images@master^"],
            "delete-repo": ["delete", "repo", "spare"],
            "gc": ["gc"],
        }[op]

    RUN_TARGETS = {"run-warm": ("A", "B"), "run-cold": ("C",), "run-batching": ("D",),
                   "run-container": ("E",)}
    DELETES = {"delete-pipeline": "B", "delete-repo": "spare"}

    # ---- reading the store (read-only, through the library) ---------------------------------

    def commits(self, store: Path) -> dict[str, set[str]]:
        pfs = PFS(Store(store))
        try:
            return {r.name: {c.id for c in pfs.list_commit(r.name)} for r in pfs.list_repo()}
        finally:
            pfs.store.close()

    def kept(self, store: Path, pipelines) -> set[str]:
        """The datums ("<pipeline> <name>") the killed job recorded as finished: its completed
        datum sets, which the re-run must not run again."""
        from pachlite.pps import api
        from pachlite.pps.states import DatumState
        pfs = PFS(Store(store))
        out = set()
        try:
            for name in pipelines:
                try:
                    jobs = api.list_job(pfs, name)
                except PachliteError:  # not created yet, or deleted
                    continue
                if jobs and jobs[0].state != "success":
                    out |= {f"{name} {os.path.basename(d.inputs[0].rsplit(':', 1)[1].rstrip('/'))}"
                            for d in api.list_datum(pfs, jobs[0]) if d.state == DatumState.SUCCESS}
        finally:
            pfs.store.close()
        return out

    def outputs(self, store: Path) -> tuple[tuple, dict]:
        """(the input files, the pipelines) and {pipeline: {path: hash}} of their heads."""
        from pachlite.pps import pipeline as pl
        pfs = PFS(Store(store))
        try:
            head = pfs.resolve(parse("images@master"))
            inputs = tuple((p, h) for p, h, _ in pfs.files(head.id))
            names = sorted(p.name for p in pl.list_pipeline(pfs))
            out = {}
            for name in names:
                try:
                    c = pfs.resolve(parse(f"{name}@master"))
                    out[name] = {p: h for p, h, _ in pfs.files(c.id)}
                except Exception as e:  # a pipeline without an output commit
                    out[name] = f"no output: {e}"
            return (inputs, tuple(names)), out
        finally:
            pfs.store.close()

    def reference(self, key: tuple, store: Path) -> dict:
        """The outputs of an unbroken run on the same input files, in a fresh store (cached)."""
        if key not in self.references:
            self.n_ref += 1
            ref = self.work / f"reference-{self.n_ref}"
            folder = ref / "in"
            pfs = PFS(Store(store))
            try:
                head = pfs.resolve(parse("images@master"))
                for path, _ in key[0]:
                    dest = folder / path.lstrip("/")
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with pfs.get_file(parse(f"images@{head.id}:{path}")) as f:
                        dest.write_bytes(f.read())
            finally:
                pfs.store.close()
            s = ref / "store"
            self.cli(s, "create", "repo", "images")
            self.cli(s, "put", "file", "images@master:/", "-r", "-f", str(folder))
            for name in sorted(key[1], key=lambda n: n == "B"):  # B reads A
                self.cli(s, "create", "pipeline", "-f", f"{name}.json",
                         *(["--container"] if name == "E" else []))
            self.references[key] = self.outputs(s)[1]
            shutil.rmtree(ref)
        return self.references[key]

    # ---- one trial --------------------------------------------------------------------------

    def fsck(self, store: Path) -> tuple[bool, list[str]]:
        """(not clean, its distinct lines)."""
        p = self.cli(store, "fsck", check=False)
        lines = {re.sub(r"\d+", "N", line) for line in (p.stdout + p.stderr).splitlines()}  # counts vary
        return "no problems found" not in p.stdout, sorted(lines)

    def start(self, store: Path, args: list[str]) -> subprocess.Popen:
        self.log.write_text("")
        return subprocess.Popen([PACHLITE, *args], env=self.env(store), cwd=self.code,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)

    def logged(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def calibrate(self, template: Path, op: str) -> float:
        store = self.work / "calibrate"
        shutil.copytree(template, store)
        args = self.prepare(op, store)
        t = time.perf_counter()
        p = self.start(store, args)
        p.wait()
        seconds = time.perf_counter() - t
        shutil.rmtree(store)
        return seconds

    def trial(self, template: Path, op: str, duration: float) -> dict:
        store = self.work / "trial"
        if store.exists():
            shutil.rmtree(store)
        shutil.copytree(template, store)
        args = self.prepare(op, store)
        before = self.commits(store)
        kill_at = self.rng.uniform(0, duration)
        p = self.start(store, args)
        try:
            p.wait(timeout=kill_at)
            killed = False
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
            killed = True
        finished_before = set(self.logged())
        time.sleep(0.2)
        try:  # the killed command's children (user code) still running?
            os.killpg(p.pid, 0)
            leftover = True
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            leftover = False
        r = {"op": op, "killed": killed, "kill_at": kill_at, "leftover": leftover}

        targets = self.RUN_TARGETS.get(op, ())
        kept = self.kept(store, targets) if killed and targets else set()
        r["unclean"], r["fsck"] = self.fsck(store)
        r["corrupt"] = r["unclean"] and bool(set(r["fsck"]) - self.known_fsck)
        after = self.commits(store)
        gone = self.DELETES.get(op)
        r["lost"] = sum(len(ids - after.get(repo, set())) for repo, ids in before.items()
                        if repo != gone)

        self.log.write_text("")
        rerun = self.cli(store, "run", check=False)
        r["rerun_failed"] = rerun.returncode != 0 and (rerun.stdout + rerun.stderr).strip()
        rerun_logged = set(self.logged())
        key, outputs = self.outputs(store)
        reference = self.reference(key, store)
        r["mismatches"] = sorted(n for n in set(outputs) | set(reference)
                                 if outputs.get(n) != reference.get(n))
        mine = {line for line in finished_before if line.split(" ", 1)[0] in targets}
        r["finished_before_kill"] = len(mine) if killed else 0
        r["ran_again"] = len(mine & rerun_logged) if killed else 0
        r["kept"] = len(kept & mine)
        r["kept_ran_again"] = len(kept & rerun_logged)
        shutil.rmtree(store)
        return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--docker", action="store_true", help=f"also kill container runs (image {IMAGE})")
    ap.add_argument("--workdir", help="scratch folder (default: a new temporary one, removed)")
    a = ap.parse_args()
    if a.docker and subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True).returncode:
        sys.exit(f"--docker: image {IMAGE} is not on this machine (docker pull it first)")
    started = time.perf_counter()
    work = Path(a.workdir or tempfile.mkdtemp(prefix="pachlite-faults-"))
    try:
        c = Campaign(work, a.seed, a.docker)
        print(f"pachlite: {PACHLITE}")
        if not c.gc:
            print("note: 'pachlite gc --help' fails here: no gc trials")
        template = c.build_template()
        unclean, lines = c.fsck(template)
        if unclean:  # a false positive there would count every trial: count only new problems
            c.known_fsck = set(lines)
            print(f"note: fsck of the unbroken template is not clean: {lines}; a trial counts as "
                  "corrupt when fsck says anything else")
        ops = c.operations()
        durations = {op: c.calibrate(template, op) for op in ops}
        print("calibration (unbroken, s): " + ", ".join(f"{op} {d:.2f}" for op, d in durations.items()))
        results = []
        for i in range(a.trials):
            op = c.rng.choice(ops)
            results.append(c.trial(template, op, durations[op]))
            r = results[-1]
            bad = r["corrupt"] or r["lost"] or r["mismatches"] or r["rerun_failed"]
            if bad:
                print(f"trial {i} {op} kill at {r['kill_at']:.2f}s: corrupt={r['corrupt']} "
                      f"lost={r['lost']} mismatches={r['mismatches']} rerun={r['rerun_failed']!r} "
                      f"fsck={r['fsck']}")
        report(results, durations, time.perf_counter() - started, c.n_ref)
    finally:
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)


def report(results: list[dict], durations: dict, seconds: float, references: int) -> None:
    per_op = collections.Counter(r["op"] for r in results)
    killed = [r for r in results if r["killed"]]
    runs = [r for r in killed if r["op"].startswith("run-")]
    print(f"trials: {len(results)} ({len(killed)} killed mid-operation, the rest had finished)")
    print("per operation: " + ", ".join(f"{op} {n}" for op, n in sorted(per_op.items())))
    print(f"corrupt stores (fsck finds a new problem): {sum(r['corrupt'] for r in results)} "
          f"(fsck not clean: {sum(r['unclean'] for r in results)})")
    print(f"lost commits: {sum(r['lost'] for r in results)}")
    print(f"re-runs that failed: {sum(bool(r['rerun_failed']) for r in results)}")
    print(f"output mismatches vs an unbroken run: {sum(bool(r['mismatches']) for r in results)} trials "
          f"({references} reference runs)")
    print(f"killed runs: {len(runs)}; datums whose user code finished before the kill: "
          f"{sum(r['finished_before_kill'] for r in runs)}, of which run again: "
          f"{sum(r['ran_again'] for r in runs)}")
    print(f"  recorded by the killed job as finished (its completed datum sets): "
          f"{sum(r['kept'] for r in runs)}, of which run again: {sum(r['kept_ran_again'] for r in runs)}"
          f" (the rest were in the set in flight, at most {FLUSH_ROWS} datums or {FLUSH_S:g} s of work)")
    print(f"killed commands that left processes running: {sum(r['leftover'] for r in killed)}")
    print(f"time: {seconds:.0f} s")


if __name__ == "__main__":
    main()
