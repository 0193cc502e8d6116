#!/usr/bin/env bash
# The main job (README command 1, after setup): the overlapping protocol, samples/fashion_overlapping.json
# (sources {0-4} and {5-9}, the target is all ten classes with a few local samples), from the shipped
# source generators and feature network in samples/models/. Two experiment processes share the 2 cores
# (--shard), then one pass writes the report: runs/fashion_overlapping/report/summary.md.
#   samples/run_sample_experiment.sh                  from the shipped files
#   samples/run_sample_experiment.sh --from-scratch   retrain the feature net and both sources first
#                                                     (about 1.5 h more on 2 cores; they replace samples/models/)
# Re-running continues where it stopped. Env: JOBS (processes, default 2), COALESCE_CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
CLI="${COALESCE_CLI:-build/app/coalesce-cli}"
CONFIG=samples/fashion_overlapping.json
OUT=runs/fashion_overlapping
JOBS="${JOBS:-2}"
start=$(date +%s)

if [ "${1:-}" = "--from-scratch" ]; then
  "$CLI" evaluator train --data fashion-mnist:train --retrain --threads 0
  rm -rf runs/sources/source_01234 runs/sources/source_56789 "$OUT"
  samples/pretrain_sources.sh --protocol overlapping --ship runs/sources
else
  samples/install_feature_net.sh
fi

mkdir -p "$OUT"
pids=()
for i in $(seq 1 $((JOBS - 1))); do
  "$CLI" experiment "$CONFIG" --out "$OUT" --shard "$i/$JOBS" --threads 1 --quiet > "$OUT/shard$i.log" 2>&1 &
  pids+=($!)
done
# Shard 0 in the foreground: its progress bar (rate, ETA) is the job's.
"$CLI" experiment "$CONFIG" --out "$OUT" --shard "0/$JOBS" --threads 1
for pid in "${pids[@]}"; do
  wait "$pid" || { echo "[sample] a shard failed: see $OUT/shard*.log" >&2; exit 1; }
done
"$CLI" experiment "$CONFIG" --out "$OUT" --report-only --quiet
echo "[sample] report: $OUT/report/summary.md ($(( $(date +%s) - start )) s)"
