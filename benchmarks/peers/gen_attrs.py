"""Write attribute files attr_NNNNNN.json (bmi and ltg of random diabetes.csv rows) into a folder.

Usage: gen_attrs.py diabetes.csv OUTDIR N [START=0] [SEED=42]  -> files START..START+N-1
(deterministic per index). Copied from the peer harness of issue 14 (../shared/bench/peers/).
"""

import csv
import json
import os
import random
import sys

src, outdir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
start = int(sys.argv[4]) if len(sys.argv) > 4 else 0
seed = int(sys.argv[5]) if len(sys.argv) > 5 else 42
with open(src, newline="") as f:
    rows = list(csv.DictReader(f))
os.makedirs(outdir, exist_ok=True)
for i in range(start, start + n):
    r = rows[random.Random(seed * 1000003 + i).randrange(len(rows))]
    doc = {"independent_variables": [{"name": "bmi", "value": float(r["bmi"])},
                                     {"name": "ltg", "value": float(r["ltg"])}]}
    with open(os.path.join(outdir, f"attr_{i:06d}.json"), "w") as f:
        json.dump(doc, f)
