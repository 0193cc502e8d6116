#!/usr/bin/env bash
# Pretrains the two default source generators of the sample experiment on Fashion-MNIST
# (the paper's split: sources {0,1,2,3} and {4,5,6,7}; the target {8,9} is what later stages adapt to).
# Small preset, a CPU budget of a few minutes each on 2 cores. Re-running reuses finished sources.
#   samples/pretrain_sources.sh [OUT_DIR] [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-runs/sources}"
ITERS="${2:-500}"
CLI="${COALESCE_CLI:-build/app/coalesce-cli}"
# LibTorch threads (0 = all cores). Use 1 when something else shares the machine: two OpenMP threads
# that wait for each other on a busy 2-core machine were measured 5-20x slower than one thread.
THREADS="${THREADS:-0}"
mkdir -p "$OUT"

pretrain() {  # name classes seed
  local dir="$OUT/$1"
  if [ -f "$dir/generator.coalesce" ]; then
    echo "[sources] $dir/generator.coalesce exists, skipping"
  elif [ -f "$dir/checkpoints/latest.coalesce" ]; then
    echo "[sources] resuming $dir"
    "$CLI" pretrain --data "fashion-mnist:train:$2" --out "$dir" --iterations "$ITERS" --seed "$3" --resume --threads "$THREADS"
  else
    "$CLI" pretrain --data "fashion-mnist:train:$2" --out "$dir" --iterations "$ITERS" --seed "$3" \
      --preset small --batch-size 64 --sample-every 100 --checkpoint-every 250 --threads "$THREADS"
  fi
  "$CLI" sample --generator "$dir/generator.coalesce" --out "$dir/final_grid.png" --n 64 --seed 7
}

pretrain source_0123 0,1,2,3 1
pretrain source_4567 4,5,6,7 2
