#!/usr/bin/env bash
# Trains the source generators the bundled protocols start from, and the feature network behind
# FID/KID, with the project's own CLI. This is the script that made the files shipped in
# samples/models/ (each with its run's config.json, metrics.csv and final grid as provenance).
#
#   samples/pretrain_sources.sh [--protocol disjoint|overlapping|split|all] [--ship] [OUT_DIR]
#
#   disjoint     sources {0,1,2,3} and {4,5,6,7} (target {8,9})           source_0123, source_4567 (2000 it.)
#   overlapping  sources {0,1,2,3,4} and {5,6,7,8,9} (target: all ten)    source_01234, source_56789 (4000 it.)
#   split        the authors' same-distribution split: parts 0 and 1 of a 50/40/10 random split of the
#                training images (seed 1; the target node has part 2)      source_split50, source_split40 (1500 it.)
#   --ship       copy each finished source (generator + provenance) to samples/models/<name>/ and the
#                feature network to samples/models/feature_net/
# Runs go to OUT_DIR (default runs/sources); re-running resumes unfinished runs and skips finished ones.
# Env: ITERATIONS (generator iterations for every source; default per source as above: the shipped
#      disjoint sources were stopped at 2000, their held-out FID already 17 / 21), THREADS (LibTorch threads per run,
#      default 1), PARALLEL (sources trained at once, default 2: two one-thread runs use both cores of
#      the 2-core machine better than one two-thread run), COALESCE_CLI.
# Each source is scored every 500 iterations (FID/KID/W1/P-R against 1000 held-out test images of its
# own classes, all ten for the split sources), so metrics.csv shows when it is good enough.
set -euo pipefail
cd "$(dirname "$0")/.."
source samples/source_config.sh
PROTOCOL=all
SHIP=0
OUT=runs/sources
while [ $# -gt 0 ]; do
  case "$1" in
    --protocol) PROTOCOL="$2"; shift 2 ;;
    --ship) SHIP=1; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    -*) echo "pretrain_sources.sh: unknown option $1" >&2; exit 2 ;;
    *) OUT="$1"; shift ;;
  esac
done
THREADS="${THREADS:-1}"
PARALLEL="${PARALLEL:-2}"
CLI="${COALESCE_CLI:-build/app/coalesce-cli}"
[ -x "$CLI" ] || { echo "pretrain_sources.sh: $CLI not found (run scripts/setup.sh first)" >&2; exit 1; }
mkdir -p "$OUT"

# name training-data reference seed iterations
TRAIN=fashion-mnist:train TEST=fashion-mnist:test
DISJOINT=("source_0123 $TRAIN:0,1,2,3 $TEST:0,1,2,3 1 2000" "source_4567 $TRAIN:4,5,6,7 $TEST:4,5,6,7 2 2000")
OVERLAPPING=("source_01234 $TRAIN:0,1,2,3,4 $TEST:0,1,2,3,4 3 4000"
             "source_56789 $TRAIN:5,6,7,8,9 $TEST:5,6,7,8,9 4 4000")
SPLIT=("source_split50 split:50,40,10:0:1:$TRAIN $TEST 5 1500" "source_split40 split:50,40,10:1:1:$TRAIN $TEST 6 1500")
SOURCES=()
case "$PROTOCOL" in
  disjoint) SOURCES=("${DISJOINT[@]}") ;;
  overlapping) SOURCES=("${OVERLAPPING[@]}") ;;
  split) SOURCES=("${SPLIT[@]}") ;;
  all) SOURCES=("${OVERLAPPING[@]}" "${DISJOINT[@]}" "${SPLIT[@]}") ;;
  *) echo "pretrain_sources.sh: --protocol must be disjoint, overlapping, split or all" >&2; exit 2 ;;
esac

# The feature net first (cached; the runs' live evaluation needs it and must not train it twice at once):
# the shipped one when the cache has none (run_sample_experiment.sh --from-scratch retrains it first).
samples/install_feature_net.sh
"$CLI" evaluator train --data fashion-mnist:train --threads "$THREADS" --quiet

pretrain() {  # name training-data reference seed iterations
  local name=$1 data=$2 reference=$3 seed=$4 iterations=${ITERATIONS:-$5} dir="$OUT/$1"
  if [ -f "$dir/generator.coalesce" ]; then
    echo "[sources] $dir finished, skipping"
    return
  fi
  local config="$OUT/$name.json"
  source_config "$data" "$reference" "$seed" "$iterations" "$THREADS" > "$config"
  local resume=()
  [ -f "$dir/checkpoints/latest.coalesce" ] && resume=(--resume)
  echo "[sources] training $name on $data -> $dir ${resume[*]}"
  "$CLI" run "$config" --run-dir "$dir" "${resume[@]}" --quiet
  "$CLI" sample --generator "$dir/generator.coalesce" --out "$dir/final_grid.png" --n 64 --seed 7 --quiet
}

ship() {  # name: the generator and its provenance into samples/models/<name>/
  local name=$1 dir="$OUT/$1"
  mkdir -p "samples/models/$name"
  # The critic alone (FreezeD starts from it): runs made before pretrain wrote it get it from the checkpoint.
  [ -f "$dir/critic.coalesce" ] || "$CLI" export --generator "$dir/checkpoints/latest.coalesce" --format critic --out "$dir/critic.coalesce"
  cp "$dir/generator.coalesce" "$dir/critic.coalesce" "$dir/config.json" "$dir/metrics.csv" "$dir/final_grid.png" "$dir/summary.json" \
     "samples/models/$name/"
}

running=0
for entry in "${SOURCES[@]}"; do
  # shellcheck disable=SC2086
  pretrain $entry > "$OUT/$(echo "$entry" | cut -d' ' -f1).log" 2>&1 &
  running=$((running + 1))
  if [ "$running" -ge "$PARALLEL" ]; then
    wait -n || { echo "[sources] a source run failed (see $OUT/*.log)" >&2; wait; exit 1; }
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do
  wait -n || { echo "[sources] a source run failed (see $OUT/*.log)" >&2; wait; exit 1; }
  running=$((running - 1))
done

if [ "$SHIP" = 1 ]; then
  for entry in "${SOURCES[@]}"; do ship "${entry%% *}"; done
  mkdir -p samples/models/feature_net
  cp "${XDG_CACHE_HOME:-$HOME/.cache}"/coalesce/feature-net-*.coalesce samples/models/feature_net/
  echo "[sources] shipped to samples/models/"
fi
echo "[sources] done"
