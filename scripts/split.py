#!/usr/bin/env python3
"""Stage `split`: the raw CSV -> training.csv (its first N rows) and holdout.csv (the rest).

As the GopherCon 2018 workshop: rows in file order, no shuffle; 398 of diabetes.csv's 442 rows
train (its training + test sets), the last 44 are held out for qcontrol. Rows are written from
their values in the shortest digits that read back the same: diabetes.csv's lines, unchanged.
"""

from __future__ import annotations

import argparse

from diabetes import stage
from diabetes.data import read_csv
from diabetes.stage import StageError


def split(args: argparse.Namespace) -> dict[str, str]:
    data = read_csv(args.in_file)
    n = args.train_rows
    if not 0 < n < len(data):
        raise StageError(args.in_file, f"cannot keep {n} of its {len(data)} rows for training",
                         f"give --train-rows between 1 and {len(data) - 1}, so each part has a row")
    training, holdout = data.iloc[:n], data.iloc[n:]
    print(f"split {args.in_file}: {len(training)} training rows, {len(holdout)} holdout rows")
    return {"training.csv": training.to_csv(index=False, lineterminator="\n"),
            "holdout.csv": holdout.to_csv(index=False, lineterminator="\n")}


if __name__ == "__main__":
    stage.run(__doc__, split,
              stage.arg("--in", dest="in_file", required=True, metavar="FILE", help="the raw CSV"),
              stage.arg("--train-rows", type=int, default=398, metavar="N",
                        help="rows to train on (default 398)"))
