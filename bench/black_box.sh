#!/usr/bin/env bash
# What a black-box source costs (engine/train/black_box_source.h): iterations per second of one barycenter
# of the two shipped sources, with source B given as its .coalesce file (sampled in process) vs as its own
# TorchScript export (`--black-box`, sampled in the worker process: latents out, images back over a socket,
# the worker one thread). Per round and mode the time of ITER iterations minus the time of 2 (start-up, the
# worker's start and the evaluation samples cancel), modes alternating within a round; medians over ROUNDS.
#   bench/black_box.sh         (env: ITER=10 ROUNDS=3 BATCH=64 CLI=build/app/coalesce-cli)
# Prints a Markdown table row: it/s in process, it/s as a black box, ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
ITER="${ITER:-10}"; ROUNDS="${ROUNDS:-3}"; BATCH="${BATCH:-64}"
CLI="${CLI:-build/app/coalesce-cli}"
A=samples/models/source_0123/generator.coalesce
B=samples/models/source_4567/generator.coalesce
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
"$CLI" export --generator "$B" --format torchscript --out "$WORK/b.pt" >/dev/null

run() {  # mode iterations -> seconds (whole command, wall clock)
  local mode="$1" iterations="$2" out="$WORK/run-$RANDOM$RANDOM"
  local second=(--source "$B")
  [ "$mode" = box ] && second=(--black-box "$WORK/b.pt")
  local start end
  start=$(date +%s.%N)
  "$CLI" barycenter --source "$A" "${second[@]}" --radius 0.5 --radius 1 --iterations "$iterations" \
    --batch-size "$BATCH" --sample-every 0 --checkpoint-every 0 --threads 1 --quiet --out "$out" >/dev/null
  end=$(date +%s.%N)
  rm -rf "$out"
  echo "$end - $start" | bc -l
}
rate() {
  local long short
  long=$(run "$1" "$ITER"); short=$(run "$1" 2)
  echo "($ITER - 2) / ($long - $short)" | bc -l
}

inproc=(); box=()
for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then inproc+=("$(rate file)"); box+=("$(rate box)")
  else box+=("$(rate box)"); inproc+=("$(rate file)"); fi
  echo "round $r: in process ${inproc[-1]} it/s, black box ${box[-1]} it/s" >&2
done
mi=$(printf '%s\n' "${inproc[@]}" | median); mb=$(printf '%s\n' "${box[@]}" | median)
printf '| barycenter, source B as a black box | %.3f | %.3f | %.2f× |\n' "$mi" "$mb" "$(echo "$mb / $mi" | bc -l)"
