#!/usr/bin/env python3
"""Stage `qc_pre_process`: each holdout row -> <n>.json (n = 1 for the first data row) holding all
its features as `independent_variables` and its y as `dependent_variable`.
"""

from __future__ import annotations

import argparse
import json

from diabetes import stage
from diabetes.data import TARGET, read_csv, require_columns


def qc_pre_process(args: argparse.Namespace) -> dict[str, str]:
    data = read_csv(args.in_file)
    require_columns(data, [TARGET], args.in_file)
    features = data.columns.drop(TARGET)
    files = {
        f"{n}.json": json.dumps({
            "independent_variables": [{"name": name, "value": row[name]} for name in features],
            "dependent_variable": row[TARGET],
        }, indent=2)
        for n, row in enumerate(data.to_dict("records"), start=1)
    }
    print(f"wrote {len(files)} QC records from {args.in_file}")
    return files


if __name__ == "__main__":
    stage.run(__doc__, qc_pre_process,
              stage.arg("--in", dest="in_file", required=True, metavar="FILE", help="the holdout CSV"))
