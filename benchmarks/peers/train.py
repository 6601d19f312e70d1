"""OLS of y on FEATURES (default bmi,ltg), written as a Pachyderm-style model.json.

Usage: train.py diabetes.csv model.json [feature,feature...]   (pure Python: no NumPy import cost)
Copied from the peer harness of issue 14 (../shared/bench/peers/train.py, 2026-12-05).
"""

import csv
import json
import os
import sys


def load(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def solve(a, b):
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        for r in range(n):
            if r != c:
                f = m[r][c] / m[c][c]
                m[r] = [x - f * y for x, y in zip(m[r], m[c])]
    return [m[i][n] / m[i][i] for i in range(n)]


def fit(rows, feats):
    x = [[1.0] + [float(r[k]) for k in feats] for r in rows]
    y = [float(r["y"]) for r in rows]
    k = len(x[0])
    xtx = [[sum(v[i] * v[j] for v in x) for j in range(k)] for i in range(k)]
    xty = [sum(v[i] * yy for v, yy in zip(x, y)) for i in range(k)]
    beta = solve(xtx, xty)
    return {"intercept": beta[0],
            "coefficients": [{"name": n, "coefficient": c} for n, c in zip(feats, beta[1:])]}


def main(argv):
    src, dst = argv[1], argv[2]
    feats = argv[3].split(",") if len(argv) > 3 else ["bmi", "ltg"]
    model = fit(load(src), feats)
    os.makedirs(os.path.dirname(dst) or ".", exist_ok=True)
    with open(dst, "w") as f:
        json.dump(model, f, indent=2)
    return model


if __name__ == "__main__":
    main(sys.argv)
