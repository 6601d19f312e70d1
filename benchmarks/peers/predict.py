"""Add predicted_diabetes_progression to attribute JSON files.

Usage: predict.py model.json IN OUT   IN and OUT are both files, or both folders (every *.json in IN).
With PEERS_BURN_MS set, each prediction also burns that many ms of CPU (the heavy-datum variant).
Copied from the peer harness of issue 14 (../shared/bench/peers/predict.py, 2026-12-05).
"""

import json
import os
import sys
import time

BURN = float(os.environ.get("PEERS_BURN_MS", "0")) / 1000


def burn(seconds):
    """Busy CPU for `seconds` of this process's CPU time, as real per-file work would be."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def load_model(path):
    with open(path) as f:
        m = json.load(f)
    return m["intercept"], {c["name"]: c["coefficient"] for c in m["coefficients"]}


def predict_file(model, src, dst):
    b0, coef = model
    with open(src) as f:
        doc = json.load(f)
    burn(BURN)
    doc["predicted_diabetes_progression"] = b0 + sum(
        coef[v["name"]] * v["value"] for v in doc["independent_variables"] if v["name"] in coef)
    with open(dst, "w") as f:
        json.dump(doc, f)


def predict_dir(model, src, dst):
    os.makedirs(dst, exist_ok=True)
    names = sorted(n for n in os.listdir(src) if n.endswith(".json"))
    for n in names:
        predict_file(model, os.path.join(src, n), os.path.join(dst, n))
    return len(names)


def main(argv):
    model = load_model(argv[1])
    if os.path.isdir(argv[2]):
        return predict_dir(model, argv[2], argv[3])
    os.makedirs(os.path.dirname(argv[3]) or ".", exist_ok=True)
    predict_file(model, argv[2], argv[3])
    return 1


if __name__ == "__main__":
    main(sys.argv)
