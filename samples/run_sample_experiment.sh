#!/usr/bin/env bash
# The bundled sample experiment, headless: pretrain the two Fashion-MNIST sources, then run the
# stages that this build provides. Output under runs/.
set -euo pipefail
cd "$(dirname "$0")/.."
CLI="${COALESCE_CLI:-build/app/coalesce-cli}"
samples/pretrain_sources.sh runs/sources "${SOURCE_ITERATIONS:-1500}"
if "$CLI" jobs | grep -q '^experiment'; then
  "$CLI" experiment samples/fashion_fewshot.json --out runs/fashion_fewshot
fi
