"""pachlite beside a plain-Python floor, DVC (one dir stage) and Snakemake (one dir rule).

The same work in every tool: fit OLS (bmi, ltg) on the diabetes CSV, then write one prediction JSON
per attribute file, N files. Per (tool, N, rep): a fresh work folder (untimed set-up), then the
scenarios in order: cold (first run); noop (the same command again); add1 (one new attribute file);
csv (the last two training rows dropped: the model and every prediction change). Each run is timed
with /usr/bin/time (wall s, peak RSS of the largest process, user and sys CPU s), and its outputs
are checked: model = OLS of the current CSV, one prediction per file, each = the model on its file.

Tools: floor (one Python process, no caching), dvc-dir, smk-dir, pachlite (a clone of
PACHLITE_PROJECT at HEAD running its own Snakemake workflow with quality control off: training ->
model -> infer), pachlite@REV (the same at commit REV, for before/after in one run).
--burn-ms M: each prediction also burns M ms of CPU (the heavy-datum variant).

Usage (run.sh sets this up): PEERS_ROOT=... PACHLITE_VENV=.venv python bench.py --tools ... --ns 10000
Adapted from the harness of issue 14 (../shared/bench/peers/bench.py, 2026-12-05): the per-file
tools (smk-wild*, dvc-foreach) stay there; pachlite@REV, --burn-ms and PACHLITE_CONFIG's home are new.
"""

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import train  # noqa: E402

ROOT = os.environ["PEERS_ROOT"]  # scratch folder: venv/, work/, results/
PROJECT = os.environ.get("PACHLITE_PROJECT", os.path.dirname(os.path.dirname(HERE)))
PACHLITE_VENV = os.path.abspath(os.environ.get("PACHLITE_VENV", os.path.join(PROJECT, ".venv")))
CSV = os.path.join(PROJECT, "data", "diabetes.csv")  # the tutorial's file (tests/ check its OLS)
ENV = dict(os.environ, PATH=ROOT + "/venv/bin:" + os.environ["PATH"], DVC_NO_ANALYTICS="1",
           GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@b")
ENV.pop("PYTHONDONTWRITEBYTECODE", None)  # users keep bytecode caches
ENV.pop("PACHLITE_STORE", None)
ENV.pop("PYTHONPATH", None)
SCEN = ["cold", "noop", "add1", "csv"]
TOOLS = ["floor", "dvc-dir", "smk-dir", "pachlite"]
# The workflow's config (config/config.schema.yaml) with quality control off: training -> model -> infer.
PACHLITE_CONFIG = """data:
  training: data/diabetes.csv
  attributes: attributes
features: [bmi, ltg]
split:
  train_rows: 398
qc:
  enabled: false
  threshold: 60.0
infer:
  parallelism: 2
image: pachlite/diabetes:latest
"""
SMK_DIR = '''import glob
ATTRS = sorted(glob.glob("attributes/*.json"))
rule all:
    input: "out"
rule train:
    input: csv="data/diabetes.csv", code="src/train.py"
    output: "model/model.json"
    shell: "python src/train.py {input.csv} {output}"
rule predict_all:
    input: model="model/model.json", attrs=ATTRS, code="src/predict.py"
    output: directory("out")
    shell: "python src/predict.py {input.model} attributes {output}"
'''
DVC_DIR = '''stages:
  train:
    cmd: python src/train.py data/diabetes.csv model/model.json
    deps: [src/train.py, data/diabetes.csv]
    outs: [model/model.json]
  predict:
    cmd: python src/predict.py model/model.json attributes out
    deps: [src/predict.py, model/model.json, attributes]
    outs: [out]
'''
# The heavy variant in pachlite's own stage: the same busy loop per attribute file as predict.py's.
INFER_LOOP = "    for name, path in sources.items():\n"
INFER_BURN = INFER_LOOP + """        _end = __import__("time").process_time() + {seconds}
        while __import__("time").process_time() < _end:
            pass
"""


def sh(cmd, wd):
    subprocess.run(cmd, cwd=wd, env=ENV, shell=True, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def gen(wd, n, start=0):
    sh(f"{sys.executable} {HERE}/gen_attrs.py data/diabetes.csv attributes {n} {start}", wd)


def setup(tool, n, wd, burn_ms):
    shutil.rmtree(wd, ignore_errors=True)
    if tool.startswith("pachlite"):
        subprocess.run(["git", "clone", "-q", PROJECT, wd], check=True)
        if "@" in tool:
            subprocess.run(["git", "-C", wd, "checkout", "-q", tool.split("@", 1)[1]], check=True)
        shutil.rmtree(wd + "/data/attributes")
        with open(wd + "/config/bench.yaml", "w") as f:
            f.write(PACHLITE_CONFIG)
        shutil.copy(CSV, wd + "/data/diabetes.csv")
        if burn_ms:
            infer = wd + "/scripts/infer.py"
            with open(infer) as f:
                text = f.read()
            if INFER_LOOP not in text:
                raise SystemExit(f"{infer} has no per-file loop to add the heavy variant's CPU to")
            with open(infer, "w") as f:
                f.write(text.replace(INFER_LOOP, INFER_BURN.format(seconds=burn_ms / 1000)))
        gen(wd, n)
        compile_code(PACHLITE_VENV + "/bin/python", wd + "/src", wd + "/scripts")
        return
    os.makedirs(wd + "/src")
    os.makedirs(wd + "/data")
    for s in ("train.py", "predict.py", "floor.py"):
        shutil.copy(f"{HERE}/{s}", wd + "/src/")
    shutil.copy(CSV, wd + "/data/")
    gen(wd, n)
    if tool == "dvc-dir":
        sh("git init -q && dvc init -q && dvc config core.analytics false && "
           "dvc config core.check_update false", wd)
        with open(wd + "/dvc.yaml", "w") as f:
            f.write(DVC_DIR)
    elif tool == "smk-dir":
        with open(wd + "/Snakefile", "w") as f:
            f.write(SMK_DIR)
    compile_code(sys.executable, wd + "/src")


def compile_code(python, *folders):
    """Byte-compile a tool's own modules before its timed runs, as pip does for an installed
    package (the peers' are): else a fresh clone's cold run compiled pachlite's every module
    (~0.35 s of its cold run), a cost its users pay once, not per run."""
    subprocess.run([python, "-m", "compileall", "-q", *folders], check=True, env=ENV,
                   stdout=subprocess.DEVNULL)


def command(tool, wd):
    if tool.startswith("pachlite"):
        return (f"PATH={PACHLITE_VENV}/bin:$PATH PYTHONPATH={wd}/src "
                "snakemake --cores 2 --configfile config/bench.yaml")
    return {"floor": "python src/floor.py data/diabetes.csv attributes out model/model.json",
            "dvc-dir": "dvc repro", "smk-dir": "snakemake --cores 2"}[tool]


def mutate(scen, n, wd):
    if scen == "add1":
        gen(wd, 1, n)
    elif scen == "csv":
        with open(wd + "/data/diabetes.csv") as f:
            lines = f.read().splitlines(True)
        with open(wd + "/data/diabetes.csv", "w") as f:
            f.writelines(lines[:-2])


def verify(wd, n_expected):
    rows = train.load(wd + "/data/diabetes.csv")
    ref = train.fit(rows, ["bmi", "ltg"])
    with open(wd + "/model/model.json") as f:
        m = json.load(f)
    assert abs(m["intercept"] - ref["intercept"]) < 1e-6, "model stale"
    for a, b in zip(m["coefficients"], ref["coefficients"]):
        assert a["name"] == b["name"] and abs(a["coefficient"] - b["coefficient"]) < 1e-6, "model stale"
    coef = {c["name"]: c["coefficient"] for c in m["coefficients"]}
    outs = sorted(os.listdir(wd + "/out"))
    ins = sorted(x for x in os.listdir(wd + "/attributes") if x.endswith(".json"))
    assert len(ins) == n_expected and [o for o in outs if o.endswith(".json")] == ins, \
        f"out count {len(outs)} != {n_expected}"
    for name in ins:
        with open(f"{wd}/out/{name}") as f:
            doc = json.load(f)
        exp = m["intercept"] + sum(coef[v["name"]] * v["value"] for v in doc["independent_variables"])
        assert abs(doc["predicted_diabetes_progression"] - exp) < 1e-6, f"stale prediction {name}"
    return len(rows)


def timed(tool, wd, timeout, log):
    tf = wd + "/.time"
    with open(log, "a") as lf:  # its own process group, so a timeout kills the tool and its jobs
        p = subprocess.Popen(["/usr/bin/time", "-f", "%e %M %U %S", "-o", tf, "bash", "-c", command(tool, wd)],
                             cwd=wd, env=ENV, stdout=lf, stderr=lf, start_new_session=True)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait()
            raise
    if p.returncode != 0:
        raise RuntimeError(f"{tool} exit {p.returncode}, see {log}")
    if tool.startswith("pachlite"):  # results live in the store: export them for verify(), untimed
        subprocess.run([PACHLITE_VENV + "/bin/python", HERE + "/pachlite_export.py"], cwd=wd, check=True,
                       env=dict(ENV, PYTHONPATH=wd + "/src"))
    with open(tf) as f:
        w, rss, u, s = f.read().split()[-4:]
    return float(w), int(rss), float(u), float(s)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", default=",".join(TOOLS), help="of " + ", ".join(TOOLS) + ", pachlite@REV")
    ap.add_argument("--ns", default="10000")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--raw", default=ROOT + "/results/raw.csv")
    ap.add_argument("--keep", action="store_true", help="keep work folders")
    ap.add_argument("--scen", default=",".join(SCEN), help="scenarios to run, in order (a prefix of the four)")
    ap.add_argument("--burn-ms", type=float, default=0, help="CPU ms each prediction also burns")
    a = ap.parse_args()
    if a.burn_ms:
        ENV["PEERS_BURN_MS"] = str(a.burn_ms)
    os.makedirs(os.path.dirname(a.raw) or ".", exist_ok=True)
    new = not os.path.exists(a.raw)
    with open(a.raw, "a", newline="") as raw:
        w = csv.writer(raw)
        if new:
            w.writerow(["tool", "n", "rep", "scenario", "wall_s", "maxrss_kib", "user_s", "sys_s", "status"])
        for n in [int(x) for x in a.ns.split(",")]:
            for rep in range(a.reps):  # tools interleaved per rep: a load spike hits them alike
                for tool in a.tools.split(","):
                    run_one(tool, n, rep, a, w, raw)


def run_one(tool, n, rep, a, w, raw):
    wd = f"{ROOT}/work/{tool.replace('@', '-')}-{n}-r{rep}"
    setup(tool, n, wd, a.burn_ms)
    log = wd + ".log"
    open(log, "w").close()
    for scen in a.scen.split(","):
        mutate(scen, n, wd)
        try:
            wall, rss, u, s = timed(tool, wd, a.timeout, log)
            nrows = verify(wd, n if scen in ("cold", "noop") else n + 1)
            assert nrows == (440 if scen == "csv" else 442)
            status = "ok"
        except subprocess.TimeoutExpired:
            wall, rss, u, s, status = a.timeout, 0, 0, 0, "timeout"
        except Exception as e:  # noqa: BLE001 - recorded in the table, the other tools go on
            wall, rss, u, s, status = -1, 0, 0, 0, "FAIL:" + str(e)[:80]
        w.writerow([tool, n, rep, scen, wall, rss, u, s, status])
        raw.flush()
        print(f"{tool:18s} N={n:<6d} rep={rep} {scen:5s} wall={wall:8.2f}s rss={rss / 1024:7.1f}MiB "
              f"user={u:.2f} sys={s:.2f} {status}", flush=True)
        if status != "ok":
            break
    if not a.keep:
        shutil.rmtree(wd, ignore_errors=True)


if __name__ == "__main__":
    main()
