#!/usr/bin/env bash
# The bundled sample experiment, headless: pretrain the two Fashion-MNIST sources, then run the
# few-shot experiment (every method x n x seed, samples/fashion_fewshot.json) and write its report.
# Output under runs/. About an hour on 2 CPU cores; re-running continues where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
CLI="${COALESCE_CLI:-build/app/coalesce-cli}"
samples/pretrain_sources.sh runs/sources "${SOURCE_ITERATIONS:-500}"
# The feature network behind FID/KID is trained once on first use (~5 min on 2 cores) and cached.
"$CLI" experiment samples/fashion_fewshot.json --out runs/fashion_fewshot
echo "[sample] report: runs/fashion_fewshot/report/summary.md"
