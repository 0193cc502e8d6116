#!/usr/bin/env bash
# What the memory allocator gives the training loop: build/bench/bench_train (linked with the system
# malloc, as every bench is) against the same binary with gperftools' tcmalloc_minimal preloaded — the
# allocator Coalesce's programs link (CMakeLists.txt, COALESCE_TCMALLOC). Alternated (system first on odd
# repetitions), median of the per-repetition speed ratios, one bench_train per (preset, batch), and the
# peak RSS of each run. The peer (bench/peer_train.py, PEER=1) shows the same effect on PyTorch-Python.
#
#   bench/allocator.sh     env: CASES="small:16 small:64 paper:64" THREADS=1 REPEATS=3 WINDOWS=3 PEER=0
#                               BUILD_DIR=build TCMALLOC=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
set -euo pipefail
cd "$(dirname "$0")/.."
CASES=${CASES:-"small:16 small:64 paper:64"}
THREADS=${THREADS:-1}
REPEATS=${REPEATS:-3}
WINDOWS=${WINDOWS:-3}
PEER=${PEER:-0}
TCMALLOC=${TCMALLOC:-/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4}
BUILD_DIR=${BUILD_DIR:-build}
[ -e "$TCMALLOC" ] || { echo "no $TCMALLOC (Debian: libgoogle-perftools-dev)" >&2; exit 1; }
source bench/common.sh
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
run() {  # allocator preset batch -> "it/s peak-RSS-MiB"
    local preload=""
    [[ $1 == tcmalloc ]] && preload=$TCMALLOC
    if [[ $PEER == 1 ]]; then
        LD_PRELOAD=$preload /usr/bin/time -f "rss %M" -o "$LOG" /usr/bin/python3 bench/peer_train.py \
            --preset "$2" --batch "$3" --threads "$THREADS" --windows "$WINDOWS"
    else
        LD_PRELOAD=$preload /usr/bin/time -f "rss %M" -o "$LOG" "$BUILD_DIR"/bench/bench_train \
            --preset "$2" --batch "$3" --threads "$THREADS" --windows "$WINDOWS"
    fi | tee -a /dev/stderr | sed -n 's/.*median \([0-9.]*\) it\/s.*/\1/p' | tr '\n' ' '
    awk '/^rss/ {printf "%.0f\n", $2 / 1024}' "$LOG"
}
echo "$([[ $PEER == 1 ]] && echo peer || echo engine), $THREADS thread(s):"
echo "| preset | batch | system malloc it/s | tcmalloc it/s | tcmalloc / system (median of $REPEATS alternations) | peak RSS system → tcmalloc (MiB) |"
echo "|---|---:|---:|---:|---|---|"
for c in $CASES; do
    preset=${c%%:*} batch=${c##*:}
    ratios=() sys=() tc=() rs=() rt=()
    for r in $(seq "$REPEATS"); do
        if (( r % 2 )); then read -r s ss < <(run system "$preset" "$batch"); read -r t st < <(run tcmalloc "$preset" "$batch")
        else read -r t st < <(run tcmalloc "$preset" "$batch"); read -r s ss < <(run system "$preset" "$batch"); fi
        sys+=("$s") tc+=("$t") rs+=("$ss") rt+=("$st")
        ratios+=("$(awk -v t="$t" -v s="$s" 'BEGIN {printf "%.3f", t / s}')")
    done
    echo "| $preset | $batch | $(printf '%s\n' "${sys[@]}" | median) | $(printf '%s\n' "${tc[@]}" | median) |" \
         "**$(printf '%s\n' "${ratios[@]}" | median)×** (${ratios[*]}) | $(printf '%s\n' "${rs[@]}" | median) → $(printf '%s\n' "${rt[@]}" | median) |"
done
