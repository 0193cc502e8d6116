#!/usr/bin/env bash
# Exact W1, the engine against POT (Debian's python3-pot) side by side on the same point sets:
# for each size, REPEATS alternations of bench_w1 (assignment solver, then LEMON's network simplex)
# and pot_w1.py (ot.dist + ot.emd2), each timing one whole call (cost matrix included) with one
# thread; prints the medians, the ratio POT / engine, and checks the three values agree (1e-6).
#   bench/w1_vs_pot.sh [OUT.md]     env: SIZES="500 1000 2000" DIM=1024 REPEATS=5 BUILD=build
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"500 1000 2000"}
DIM=${DIM:-1024}
REPEATS=${REPEATS:-5}
BUILD=${BUILD:-build}
PY=/usr/bin/python3
[[ -x "$BUILD/bench/bench_w1" ]] || { echo "w1_vs_pot: $BUILD/bench/bench_w1 not built" >&2; exit 1; }
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source bench/common.sh
table="| n × n, ${DIM}-D | engine, assignment (s) | engine, network simplex (s) | POT ot.dist + ot.emd2 (s) | POT / engine | W1 (all three agree) |
|---|---:|---:|---:|---:|---:|"
for n in $SIZES; do
    $PY bench/pot_w1.py write "$tmp/x" "$tmp/y" "$n" "$DIM" 1
    a=() s=() p=()
    for ((r = 1; r <= REPEATS; ++r)); do
        out=$("$BUILD/bench/bench_w1" "$tmp/x" "$tmp/y" "$n" "$DIM" --threads 1)
        pot=$($PY bench/pot_w1.py time "$tmp/x" "$tmp/y" "$n" "$DIM")
        echo "$out" >&2; echo "$pot" >&2
        a+=("$(awk '/assignment/ {print $6}' <<<"$out")")
        s+=("$(awk '/network_simplex/ {print $6}' <<<"$out")")
        p+=("$(awk '{print $6}' <<<"$pot")")
        wa=$(awk '/assignment/ {print $4}' <<<"$out"); ws=$(awk '/network_simplex/ {print $4}' <<<"$out")
        wp=$(awk '{print $4}' <<<"$pot")
        awk -v a="$wa" -v b="$ws" -v c="$wp" 'BEGIN {d1 = (a-c)/c; d2 = (b-c)/c; if (d1 < 0) d1 = -d1; if (d2 < 0) d2 = -d2;
            exit !(d1 < 1e-6 && d2 < 1e-6)}' || { echo "w1_vs_pot: values differ: $wa $ws $wp" >&2; exit 1; }
    done
    am=$(printf '%s\n' "${a[@]}" | median); sm=$(printf '%s\n' "${s[@]}" | median); pm=$(printf '%s\n' "${p[@]}" | median)
    table+=$'\n'"| $n | $am | $sm | $pm | **$(awk -v p="$pm" -v a="$am" 'BEGIN {printf "%.1f", p / a}')×** | $wp |"
done
echo "$table"
[[ $# -ge 1 ]] && echo "$table" >"$1"
exit 0
