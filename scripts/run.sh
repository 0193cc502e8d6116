#!/usr/bin/env bash
# README command (1): set everything up, then run the main job on the bundled sample experiment.
#   scripts/run.sh          headless: the whole pipeline end to end with coalesce-cli (progress on the terminal)
#   scripts/run.sh --gui    open the workbench on the sample project instead
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ "${1:-}" = "--gui" ]; then
  exec build/app/coalesce resources/samples/fashion-overlapping.coalesce-project
fi
samples/run_sample_experiment.sh
