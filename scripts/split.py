#!/usr/bin/env python3
"""Stage `split`: the raw CSV -> training.csv (its first N rows) and holdout.csv (the rest).

As the GopherCon 2018 workshop: rows in file order, no shuffle; 398 of diabetes.csv's 442 rows
train (its training + test sets), the last 44 are held out for qcontrol. Rows keep their text.
"""

from __future__ import annotations

import argparse
import sys

from pachlite.errors import PachliteError
from pachlite.regression import run_split, write_outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--in", dest="in_file", required=True, metavar="FILE", help="the raw CSV")
    parser.add_argument("--train-rows", type=int, default=398, metavar="N", help="rows to train on (default 398)")
    parser.add_argument("--out-dir", required=True, metavar="DIR", help="where to write, e.g. /pfs/out")
    args = parser.parse_args(argv)
    try:
        result = run_split(args.in_file, args.train_rows)
        write_outputs(args.out_dir, result.files)
    except PachliteError as err:
        print(err, file=sys.stderr)
        return 1
    print(result.summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
