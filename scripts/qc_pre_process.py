#!/usr/bin/env python3
"""Stage `qc_pre_process`: each holdout row -> <n>.json (n = 1 for the first data row) holding all
its features as `independent_variables` and its y as `dependent_variable`.
"""

from __future__ import annotations

import argparse
import sys

from pachlite.errors import PachliteError
from pachlite.regression import run_qc_pre_process, write_outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--in", dest="in_file", required=True, metavar="FILE", help="the holdout CSV")
    parser.add_argument("--out-dir", required=True, metavar="DIR", help="where to write, e.g. /pfs/out")
    args = parser.parse_args(argv)
    try:
        result = run_qc_pre_process(args.in_file)
        write_outputs(args.out_dir, result.files)
    except PachliteError as err:
        print(err, file=sys.stderr)
        return 1
    print(result.summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
