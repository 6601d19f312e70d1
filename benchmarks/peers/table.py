"""Print the peer table of a bench.py results file: wall s (median of reps) per tool and scenario,
CPU s (user+sys, median), peak RSS MiB (max), then the issue-14 ratios of each pachlite tool.

Usage: table.py results/raw.csv [--markdown]   (--markdown: the README's table, wall s (CPU s)).
Adapted from the harness of issue 14 (../shared/bench/peers/table.py).
"""

import csv
import statistics
import sys
from collections import defaultdict

SCEN = ["cold", "noop", "add1", "csv"]
ORDER = ["floor", "dvc-dir", "smk-dir"]


def load(path):
    runs, statuses, keys = defaultdict(list), defaultdict(set), []
    with open(path) as f:
        for r in csv.DictReader(f):
            k = (r["tool"], int(r["n"]))
            if k not in keys:
                keys.append(k)
            statuses[k + (r["scenario"],)].add(r["status"])
            if r["status"] == "ok":
                runs[k + (r["scenario"],)].append(
                    (float(r["wall_s"]), float(r["user_s"]) + float(r["sys_s"]), int(r["maxrss_kib"])))
    keys.sort(key=lambda k: (k[1], ORDER.index(k[0]) if k[0] in ORDER else len(ORDER)))
    return runs, statuses, keys


def median(runs, k, s, i=0):
    v = runs.get(k + (s,))
    return statistics.median(x[i] for x in v) if v else None


def markdown(runs, keys):
    print("| N | tool | cold | no-op | add1 | csv | reps |")
    print("|---|---|---|---|---|---|---|")
    for k in keys:
        cells = []
        for s in SCEN:
            wall, cpu = median(runs, k, s), median(runs, k, s, 1)
            cells.append("—" if wall is None else f"{wall:.2f} s ({cpu:.2f} s)")
        reps = max(len(runs.get(k + (s,), [])) for s in SCEN)
        print(f"| {k[1]:,} | {k[0]} | " + " | ".join(cells) + f" | {reps} |")


def main(path, md=False):
    runs, statuses, keys = load(path)
    if md:
        markdown(runs, keys)
        return

    def cell(k, s, i, fmt):
        v = runs.get(k + (s,), [])
        if not v:
            bad = [x for x in statuses.get(k + (s,), set()) if x != "ok"]
            return f"{bad[0][:8] if bad else '-':>8s}"
        return format(statistics.median(x[i] for x in v) if i < 2 else max(x[i] for x in v) / 1024, fmt)

    print(f"{'tool':18s} {'N':>6s} | {'wall s (median): cold noop add1 csv':35s} | "
          f"{'CPU user+sys s (median): same order':35s} | {'peak RSS MiB (max)':19s} | reps")
    for k in keys:
        print(f"{k[0]:18s} {k[1]:6d} | " + " | ".join(" ".join(cell(k, s, i, f) for s in SCEN) for i, f in
                                                    ((0, "8.2f"), (1, "8.2f"), (2, "4.0f")))
              + " | " + "/".join(str(len(runs.get(k + (s,), []))) for s in SCEN))
    print("wall and CPU: medians over reps; RSS: the largest single process of the run (max over reps)")
    for tool, n in keys:
        if tool.startswith("pachlite"):
            ratios(runs, tool, n)


def ratios(runs, tool, n):
    """Issue 14's targets, as ratios of medians measured in this run: of wall time, and of CPU time
    (user+sys of the whole process tree), which a loaded machine disturbs less."""
    print(f"{tool} at N={n}: wall ratio (CPU ratio)")
    for i, unit in ((0, "wall"), (1, "CPU")):
        p = {s: median(runs, (tool, n), s, i) for s in SCEN}
        floor, dvc, smk = ({s: median(runs, (t, n), s, i) for s in SCEN} for t in ORDER)
        rows = [("add1 / Snakemake's no-op", p["add1"], smk["noop"], 1.5),
                ("no-op / DVC's no-op", p["noop"], dvc["noop"], 1.0),
                ("csv / Snakemake's csv", p["csv"], smk["csv"], 1.0),
                ("cold / (floor + Snakemake's no-op)", p["cold"],
                 floor["cold"] + smk["noop"] if floor["cold"] and smk["noop"] else None, 1.5)]
        for name, a, b, target in rows:
            if a and b:
                print(f"  {unit:4s} {name:36s} {a:6.2f} / {b:6.2f} = {a / b:5.2f}  (target <= {target})"
                      f"{'' if a / b <= target else '  NOT MET'}")


if __name__ == "__main__":
    main(sys.argv[1], "--markdown" in sys.argv[2:])
