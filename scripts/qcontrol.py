#!/usr/bin/env python3
"""Stage `qcontrol`: the model's RMSE over the QC records. Below the threshold, model.json passes on
with an added "rmse"; at or above it, exit 1, so the job fails and infer keeps the last passing model.
"""

from __future__ import annotations

import argparse
import sys

from pachlite.errors import PachliteError
from pachlite.regression import run_qcontrol, write_outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, metavar="FILE", help="the model stage's model.json")
    parser.add_argument("--test-dir", required=True, metavar="DIR", help="the qc_pre_process output")
    parser.add_argument("--threshold", type=float, default=60.0, help="highest RMSE that fails (default 60.0)")
    parser.add_argument("--out-dir", required=True, metavar="DIR", help="where to write, e.g. /pfs/out")
    args = parser.parse_args(argv)
    try:
        result = run_qcontrol(args.model, args.test_dir, args.threshold)
        write_outputs(args.out_dir, result.files)
    except PachliteError as err:
        print(err, file=sys.stderr)
        return 1
    print(result.summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
