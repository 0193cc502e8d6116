#!/usr/bin/env bash
# The engine against its plain PyTorch-Python peer, side by side: build/bench/bench_train and
# bench/peer_train.py do the same WGAN-GP work (same networks, batch, n_critic, GP, Adam) on the same
# LibTorch; they are run alternately (engine first on odd repetitions, peer first on even ones) so that
# machine load falls on both, and the median of the per-repetition ratios is reported, with the engine's
# GFLOP/s (peer_train.py's work estimate x the engine's rate) against the matmul peaks of the machine
# measured by bench/matmul_peak.py at the same thread count.
#
#   bench/peer_compare.sh [OUT.md]
#   env: PRESETS="paper small" CRITICS="1 2" THREADS="1 2" REPEATS=3 WINDOWS=3 BUILD=build
# Prints a Markdown table (and writes it to OUT.md when given); per-run lines go to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
PRESETS=${PRESETS:-"paper small"}
CRITICS=${CRITICS:-"1 2"}
THREADS=${THREADS:-"1 2"}
REPEATS=${REPEATS:-3}
WINDOWS=${WINDOWS:-3}
BUILD=${BUILD:-build}
PY=/usr/bin/python3
ENGINE="$BUILD/bench/bench_train"
[[ -x "$ENGINE" ]] || { echo "peer_compare: $ENGINE not built (cmake --build $BUILD --target bench_train)" >&2; exit 1; }
$PY -c "import torch" 2>/dev/null || { echo "peer_compare: $PY has no torch (apt-get install python3-torch)" >&2; exit 1; }

source bench/common.sh

engine_rate() {  # preset critics threads -> it/s
    "$ENGINE" --preset "$1" --critics "$2" --threads "$3" --windows "$WINDOWS" | tee -a /dev/stderr |
        sed -n 's/.*median \([0-9.]*\) it\/s.*/\1/p'
}
peer_line() {  # preset critics threads -> the peer's output line
    $PY bench/peer_train.py --preset "$1" --critics "$2" --threads "$3" --windows "$WINDOWS" | tee -a /dev/stderr
}

table="| preset | critics | threads | engine it/s | peer it/s | engine / peer (median of $REPEATS, range) | GFLOP/it | engine GFLOP/s | fp32 / bf16 matmul peak GFLOP/s | engine / fp32 peak |
|---|---:|---:|---:|---:|---|---:|---:|---:|---:|"
for t in $THREADS; do
    peaks=$($PY bench/matmul_peak.py --threads "$t" | tee -a /dev/stderr)
    fp32=$(sed -n 's/.*fp32 \([0-9.]*\) GFLOP.*/\1/p' <<<"$peaks")
    bf16=$(sed -n 's/.*bf16 \([0-9.]*\) GFLOP.*/\1/p' <<<"$peaks")
    for p in $PRESETS; do
        for k in $CRITICS; do
            e_rates=() p_rates=() ratios=() gflop=""
            for ((r = 1; r <= REPEATS; ++r)); do
                if ((r % 2)); then
                    e=$(engine_rate "$p" "$k" "$t"); line=$(peer_line "$p" "$k" "$t")
                else
                    line=$(peer_line "$p" "$k" "$t"); e=$(engine_rate "$p" "$k" "$t")
                fi
                q=$(sed -n 's/.*median \([0-9.]*\) it\/s.*/\1/p' <<<"$line")
                gflop=$(sed -n 's/.* \([0-9.]*\) GFLOP\/it.*/\1/p' <<<"$line")
                e_rates+=("$e") p_rates+=("$q") ratios+=("$(awk -v a="$e" -v b="$q" 'BEGIN {printf "%.3f", a / b}')")
            done
            em=$(printf '%s\n' "${e_rates[@]}" | median)
            pm=$(printf '%s\n' "${p_rates[@]}" | median)
            rm=$(printf '%s\n' "${ratios[@]}" | median)
            lo=$(printf '%s\n' "${ratios[@]}" | sort -g | head -1)
            hi=$(printf '%s\n' "${ratios[@]}" | sort -g | tail -1)
            eg=$(awk -v r="$em" -v g="$gflop" 'BEGIN {printf "%.0f", r * g}')
            share=$(awk -v e="$eg" -v f="$fp32" 'BEGIN {printf "%.0f %%", 100 * e / f}')
            table+=$'\n'"| $p | $k | $t | $em | $pm | **${rm}×** ($lo–$hi) | $gflop | $eg | $fp32 / $bf16 | $share |"
        done
    done
done
echo "$table"
[[ $# -ge 1 ]] && echo "$table" >"$1"
exit 0
