#!/usr/bin/env python3
"""The diabetes workflow's per-datum stage, `scripts/infer.py`, as a warm worker runs it: compiled
once, then run as __main__ once per datum (fresh module globals, the same command line), over one
attribute file laid out in a scratch folder; prints the CPU time a datum costs.

The script is the only per-datum code of the workflow, so its cost is most of a csv row's
(issue 14). Usage: python benchmarks/infer_bench.py [--scripts DIR] [--datums 3000]
(--scripts: another checkout's scripts/ folder, to compare)
"""

from __future__ import annotations

import argparse
import builtins
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scripts", default=str(ROOT / "scripts"))
    ap.add_argument("--datums", type=int, default=3000)
    args = ap.parse_args()
    scripts = Path(args.scripts).resolve()
    sys.path.insert(0, str(scripts))
    code = compile((scripts / "infer.py").read_text(), str(scripts / "infer.py"), "exec")
    attribute = (ROOT / "data" / "attributes" / "1.json").read_bytes()
    model = {"intercept": 152.13, "coefficients": [{"name": "bmi", "coefficient": 675.07},
                                                   {"name": "ltg", "coefficient": 614.95}]}
    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.path.isdir("/dev/shm") else None) as tmp:
        for d in ("attributes", "qcontrol", "out"):
            os.mkdir(f"{tmp}/{d}")
        Path(tmp, "qcontrol", "model.json").write_text(json.dumps(model))
        argv = ["infer.py", "--model", f"{tmp}/qcontrol/model.json", "--attributes",
                f"{tmp}/attributes", "--out-dir", f"{tmp}/out"]

        def datum(i: int) -> None:
            Path(tmp, "attributes", f"{i}.json").write_bytes(attribute)
            sys.argv = list(argv)
            try:
                exec(code, {"__name__": "__main__", "__file__": str(scripts / "infer.py"),
                            "__builtins__": builtins})
            except SystemExit as e:
                if e.code:
                    raise
            os.unlink(f"{tmp}/attributes/{i}.json")
            os.unlink(f"{tmp}/out/{i}.json")

        stdout, sys.stdout = sys.stdout, open(os.devnull, "w")  # noqa: SIM115 (restored below)
        try:
            datum(0)  # imports, the model
            cpu = time.process_time()
            for i in range(args.datums):
                datum(i)
            cpu = time.process_time() - cpu
        finally:
            sys.stdout.close()
            sys.stdout = stdout
    print(f"{scripts / 'infer.py'}: {cpu / args.datums * 1e6:.0f} us of CPU a datum "
          f"({args.datums} datums, one warm interpreter)")


if __name__ == "__main__":
    main()
