#!/usr/bin/env bash
# Data-parallel scaling (engine/train/data_parallel.h): generator iterations per second of one
# pretraining run with one process vs N processes (`coalesce-cli launch --nproc N`), one thread each,
# the same global batch. Per round and mode the time of ITER iterations minus the time of 2 (start-up,
# data loading and the first iterations cancel), modes alternating within a round; medians over ROUNDS.
#   bench/data_parallel.sh            (env: PRESET=paper NPROC=2 ITER=10 ROUNDS=3 BATCH=64 CLI=build/app/coalesce-cli)
# Prints a Markdown table row: preset, it/s with 1 and N processes, speed-up, scaling efficiency.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
PRESET="${PRESET:-paper}"; NPROC="${NPROC:-2}"; ITER="${ITER:-10}"; ROUNDS="${ROUNDS:-3}"; BATCH="${BATCH:-64}"
CLI="${CLI:-build/app/coalesce-cli}"
DATA="${DATA:-fashion-mnist:train:0,1,2,3}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# Seconds for `iterations` iterations with `procs` processes (whole command, wall clock).
run() {
  local procs="$1" iterations="$2" out="$WORK/run-$RANDOM$RANDOM"
  local args=(pretrain --data "$DATA" --preset "$PRESET" --iterations "$iterations" --batch-size "$BATCH"
              --sample-every 0 --checkpoint-every 0 --threads 1 --quiet --out "$out")
  local start end
  start=$(date +%s.%N)
  if [ "$procs" -eq 1 ]; then "$CLI" "${args[@]}" >/dev/null; else "$CLI" launch --nproc "$procs" -- "${args[@]}" >/dev/null 2>&1; fi
  end=$(date +%s.%N)
  rm -rf "$out"
  echo "$end - $start" | bc -l
}
rate() {  # iterations per second from the ITER-vs-2 difference
  local procs="$1" long short
  long=$(run "$procs" "$ITER"); short=$(run "$procs" 2)
  echo "($ITER - 2) / ($long - $short)" | bc -l
}

one=(); many=()
for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then one+=("$(rate 1)"); many+=("$(rate "$NPROC")")
  else many+=("$(rate "$NPROC")"); one+=("$(rate 1)"); fi
  echo "round $r: 1 process ${one[-1]} it/s, $NPROC processes ${many[-1]} it/s" >&2
done
m1=$(printf '%s\n' "${one[@]}" | median); mn=$(printf '%s\n' "${many[@]}" | median)
printf '| %s | %d | %.3f | %.3f | %.2f× | %.0f %% |\n' "$PRESET" "$NPROC" "$m1" "$mn" "$(echo "$mn / $m1" | bc -l)" \
  "$(echo "100 * $mn / ($m1 * $NPROC)" | bc -l)"
