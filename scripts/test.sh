#!/usr/bin/env bash
# README command (2): set up, build, and run every test. .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
scripts/setup.sh
BUILD_DIR="${COALESCE_BUILD_DIR:-build}"
# Tests set their own (small) LibTorch thread counts; run two at a time on these 2-core machines.
ctest --test-dir "$BUILD_DIR" --output-on-failure -j 2 --timeout 900
echo "[test] setup + build + tests took $(( $(date +%s) - start )) s"
