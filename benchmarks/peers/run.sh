#!/usr/bin/env bash
# `make bench-peers`: the peer table of issue 14 at N=10,000 (cold, no-op, add1, csv; medians of
# REPS), then the heavy-datum variant (each prediction burns 20 ms of CPU; cold, no-op, add1).
# DVC 3.67.1 and Snakemake 9.27.1 go into $PEERS_ROOT/venv, apart from pachlite's venv
# ($PACHLITE_VENV, whose Snakemake runs pachlite's workflow). pachlite is a git clone of this
# project, so it benchmarks what is committed (HEAD); PACHLITE_TOOLS="pachlite pachlite@REV"
# adds the code at REV beside it in the same run. Takes ~30 min on 2 cores; HEAVY=0 skips the
# heavy variant (~20 of them: DVC and Snakemake redo all N predictions at 20 ms each).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export PEERS_ROOT=${PEERS_ROOT:-$HERE/../../.peers} PIP_DISABLE_PIP_VERSION_CHECK=1
N=${N:-10000} REPS=${REPS:-3} HEAVY=${HEAVY:-1} HEAVY_PEER_REPS=${HEAVY_PEER_REPS:-1}
PACHLITE_TOOLS=${PACHLITE_TOOLS:-pachlite}
mkdir -p "$PEERS_ROOT/results"
if [ ! -x "$PEERS_ROOT/venv/bin/dvc" ] || [ ! -x "$PEERS_ROOT/venv/bin/snakemake" ]; then
  ${PYTHON:-python3} -m venv "$PEERS_ROOT/venv"
  "$PEERS_ROOT/venv/bin/pip" install -q dvc==3.67.1 snakemake==9.27.1
fi
PY="$PEERS_ROOT/venv/bin/python"
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=$PEERS_ROOT/results/peers-$STAMP.csv HEAVY_OUT=$PEERS_ROOT/results/heavy-$STAMP.csv
"$PY" "$HERE/bench.py" --raw "$OUT" --ns "$N" --reps "$REPS" \
  --tools "floor,dvc-dir,smk-dir,${PACHLITE_TOOLS// /,}"
if [ "$HEAVY" != 0 ]; then
  "$PY" "$HERE/bench.py" --raw "$HEAVY_OUT" --ns "$N" --reps "$REPS" --burn-ms 20 \
    --scen cold,noop,add1 --tools "${PACHLITE_TOOLS// /,}"
  "$PY" "$HERE/bench.py" --raw "$HEAVY_OUT" --ns "$N" --reps "$HEAVY_PEER_REPS" --burn-ms 20 \
    --scen cold,noop,add1 --tools dvc-dir,smk-dir
fi
echo; echo "Peer table, N=$N ($OUT):"; "$PY" "$HERE/table.py" "$OUT"
if [ "$HEAVY" != 0 ]; then
  echo; echo "Heavy datums, 20 ms of CPU per prediction ($HEAVY_OUT):"; "$PY" "$HERE/table.py" "$HEAVY_OUT"
fi
