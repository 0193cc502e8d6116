#!/usr/bin/env bash
# Does a source pretraining reach the same quality in bf16 as in fp32? The disjoint protocol's first source
# (Fashion-MNIST classes 0-3, dcgan32 small, the config of the shipped sources: samples/source_config.sh) for ITERATIONS
# iterations: seed 1 in fp32 and in bf16, and seed 2 in fp32 for the seed-to-seed spread; three one-thread
# runs side by side. Prints the held-out FID / KID / W1 of every evaluation (every 500 iterations).
#   bench/pretrain_precision.sh [OUT_DIR]      (CLI=build/app/coalesce-cli, ITERATIONS=1000)
set -euo pipefail
cd "$(dirname "$0")/.."
source samples/source_config.sh
CLI="$(realpath "${CLI:-build/app/coalesce-cli}")"
OUT="${1:-/tmp/pretrain_precision}"
ITERATIONS="${ITERATIONS:-1000}"
mkdir -p "$OUT"
cd "$OUT"
export OMP_NUM_THREADS=1
for seed in 1 2; do
  source_config fashion-mnist:train:0,1,2,3 fashion-mnist:test:0,1,2,3 "$seed" "$ITERATIONS" 1 > "cfg_s$seed.json"
done
"$CLI" run cfg_s1.json --run-dir fp32_s1 --precision fp32 --quiet &
"$CLI" run cfg_s1.json --run-dir bf16_s1 --precision bf16 --quiet &
"$CLI" run cfg_s2.json --run-dir fp32_s2 --precision fp32 --quiet &
wait
for run in fp32_s1 bf16_s1 fp32_s2; do
  python3 - "$run" <<'PY'
import csv, json, sys
run = sys.argv[1]
rows = {}
for step, name, value in csv.reader(open(f"{run}/metrics.csv")):
    if name in ("eval/fid", "eval/kid", "eval/w1"):
        rows.setdefault(int(step), {})[name[5:]] = float(value)
print(run, "  ".join(f"step {s}: FID {v.get('fid', float('nan')):.1f} KID {v.get('kid', float('nan')):.4f} W1 {v.get('w1', float('nan')):.2f}"
                     for s, v in sorted(rows.items())),
      f"| {json.load(open(f'{run}/summary.json'))['status']}, {json.load(open(f'{run}/summary.json')).get('wall_seconds', 0):.0f} s")
PY
done
