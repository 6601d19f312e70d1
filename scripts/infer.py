#!/usr/bin/env python3
"""Stage `infer`: for each attribute file, out/<its name> = the prediction and its variables.

--attributes takes files or folders (every file below a folder, written under its path there),
repeated or several at once, so one call can serve many datums.
"""

from __future__ import annotations

import argparse
import sys

from pachlite.errors import PachliteError
from pachlite.regression import run_infer, write_outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, metavar="FILE", help="qcontrol's model.json")
    parser.add_argument(
        "--attributes", required=True, action="extend", nargs="+", metavar="PATH", help="attribute files or folders"
    )
    parser.add_argument("--out-dir", required=True, metavar="DIR", help="where to write, e.g. /pfs/out")
    args = parser.parse_args(argv)
    try:
        result = run_infer(args.model, args.attributes)
        write_outputs(args.out_dir, result.files)
    except PachliteError as err:
        print(err, file=sys.stderr)
        return 1
    print(result.summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
