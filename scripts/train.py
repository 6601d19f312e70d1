#!/usr/bin/env python3
"""Stage `model`: ordinary least squares of y on the features -> model.json.

model.json is the workshop's: {"intercept": ..., "coefficients": [{"name": ..., "coefficient": ...}]}.
"""

from __future__ import annotations

import argparse
import sys

from pachlite.errors import PachliteError
from pachlite.regression import parse_features, run_train, write_outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--in", dest="in_file", required=True, metavar="FILE", help="the training CSV")
    parser.add_argument("--features", default="bmi,ltg", help="comma-separated columns (default bmi,ltg)")
    parser.add_argument("--out-dir", required=True, metavar="DIR", help="where to write, e.g. /pfs/out")
    args = parser.parse_args(argv)
    try:
        result = run_train(args.in_file, parse_features(args.features))
        write_outputs(args.out_dir, result.files)
    except PachliteError as err:
        print(err, file=sys.stderr)
        return 1
    print(result.summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
