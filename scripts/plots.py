#!/usr/bin/env python3
"""The report's figures, drawn from the versioned results in the store (not from data/).

--training / --holdout are file addresses (repo@branch:/path); --model-repo is the repo whose
commits hold model.json (qcontrol when quality control is on: its models carry their RMSE).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from pachlite import report_plots
from pachlite.pfs.address import Address, parse
from pachlite.errors import PachliteError
from pachlite.pfs import PFS
from pachlite.store import Store


def fetch(pfs: PFS, address: str | Address, dest: Path) -> Path:
    with pfs.get_file(parse(address) if isinstance(address, str) else address) as src:
        dest.write_bytes(src.read())
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--training", required=True)
    ap.add_argument("--holdout", default="")
    ap.add_argument("--model-repo", required=True)
    ap.add_argument("--threshold", default="")
    ap.add_argument("--out-dir", required=True)
    args = ap.parse_args(argv)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    try:
        pfs = PFS(Store(create=False))
        with tempfile.TemporaryDirectory() as tmp:
            t = Path(tmp)
            training = fetch(pfs, args.training, t / "training.csv")
            model = fetch(pfs, f"{args.model_repo}@master:/model.json", t / "model.json")
            holdout = fetch(pfs, args.holdout, t / "holdout.csv") if args.holdout else training
            report_plots.profile_training(training, out / "profile.png")
            report_plots.fitted(training, model, out / "fit.png")
            report_plots.residuals(holdout, model, out / "residuals.png")
            history = []
            for c in reversed(pfs.list_commit(args.model_repo, "master")):
                with pfs.get_file(Address(args.model_repo, commit=c.id, path="/model.json")) as f:
                    rmse = json.load(f).get("rmse")
                if rmse is not None:
                    history.append((c.id, rmse))
            report_plots.rmse_history(history, out / "rmse.png",
                                      threshold=float(args.threshold) if args.threshold else None)
    except PachliteError as err:
        print(err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
