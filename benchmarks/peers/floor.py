"""The floor: the whole pipeline in one process, no caching, no change detection.

Usage: floor.py diabetes.csv attributes_dir out_dir model.json
The output folder is removed first (as DVC does for outs): rewriting 10k existing files in place is
slower on ext4 (truncate-on-rewrite flush heuristic) than writing fresh ones.
Copied from the peer harness of issue 14 (../shared/bench/peers/floor.py, 2026-12-05).
"""

import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import predict  # noqa: E402
import train  # noqa: E402

csv_path, attrs, out, model_path = sys.argv[1:5]
train.main(["train", csv_path, model_path])
shutil.rmtree(out, ignore_errors=True)
predict.predict_dir(predict.load_model(model_path), attrs, out)
