#!/usr/bin/env bash
# What bf16 mixed precision gives on this CPU: fp32 vs bf16 (autocast), alternated (fp32 first on odd
# repetitions), median of the per-repetition speed ratios; on the PyTorch-Python peer (IMPL=peer,
# bench/peer_train.py on the same LibTorch 1.13) or on the engine itself (IMPL=engine,
# build/bench/bench_train --precision, runtime.precision in a job). Quality parity is measured by the
# experiment pair samples/verify/precision_{fp32,bf16}.json (bench/README.md), not here.
#
#   bench/peer_bf16.sh      env: IMPL=peer|engine PRESETS="paper small" THREADS=1 REPEATS=3 WINDOWS=3
set -euo pipefail
cd "$(dirname "$0")/.."
PRESETS=${PRESETS:-"paper small"}
THREADS=${THREADS:-1}
REPEATS=${REPEATS:-3}
WINDOWS=${WINDOWS:-3}
IMPL=${IMPL:-peer}
PY=/usr/bin/python3
source bench/common.sh
rate() {  # preset precision -> it/s
    if [[ $IMPL == engine ]]; then
        build/bench/bench_train --preset "$1" --threads "$THREADS" --windows "$WINDOWS" --precision "$2"
    else
        $PY bench/peer_train.py --preset "$1" --threads "$THREADS" --windows "$WINDOWS" --precision "$2"
    fi | tee -a /dev/stderr | sed -n 's/.*median \([0-9.]*\) it\/s.*/\1/p'
}
echo "$IMPL:"
echo "| preset | threads | fp32 it/s (median) | bf16 it/s (median) | bf16 / fp32 (median of $REPEATS alternations) |"
echo "|---|---|---|---|---|"
for preset in $PRESETS; do
    ratios=() fp=() bf=()
    for r in $(seq "$REPEATS"); do
        if (( r % 2 )); then f=$(rate "$preset" fp32); b=$(rate "$preset" bf16); else b=$(rate "$preset" bf16); f=$(rate "$preset" fp32); fi
        fp+=("$f"); bf+=("$b"); ratios+=("$(awk -v b="$b" -v f="$f" 'BEGIN {printf "%.3f", b / f}')")
    done
    echo "| $preset | $THREADS | $(printf '%s\n' "${fp[@]}" | median) | $(printf '%s\n' "${bf[@]}" | median) | $(printf '%s\n' "${ratios[@]}" | median) (${ratios[*]}) |"
done
