#!/usr/bin/env bash
# The headless engine on a GPU server: builds the engine, the CLI and the benchmarks (no Qt, no OpenCV:
# -DCOALESCE_BUILD_GUI=OFF -DCOALESCE_WITH_OPENCV=OFF) against a CUDA LibTorch, runs the tests that need
# no Qt (the CLI tests), and times training on the GPU.
#   bench/gpu_smoke.sh [LIBTORCH_PREFIX]
# LIBTORCH_PREFIX: an unpacked official LibTorch archive (…/libtorch), or empty to take the one that comes
# with the Python torch on PATH (torch.utils.cmake_prefix_path). Also needs CMake, a C++17 compiler,
# nlohmann-json, LEMON (header-only) and zlib: on Debian/Ubuntu
#   apt-get install cmake g++ ninja-build nlohmann-json3-dev liblemon-dev zlib1g-dev
# Status: written for the issue "scale out"; NOT yet run on a GPU (none was available to the task that
# wrote it). Run it wherever one is and add the figures to bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX="${1:-$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')}"
BUILD="${BUILD:-build-gpu}"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PREFIX" \
  -DCOALESCE_BUILD_GUI=OFF -DCOALESCE_WITH_OPENCV=OFF
cmake --build "$BUILD" -j "$(nproc)"
# The CLI tests (2-D toy jobs, data-parallel on localhost) need no Qt; the Slurm proof skips without root.
(cd "$BUILD" && ctest -L cli --output-on-failure)
"$BUILD/app/coalesce-cli" jobs >/dev/null
echo "== bench_train on the GPU (paper and small presets, batch 64, n_critic 5)"
"$BUILD/bench/bench_train" --preset both --device cuda --windows 5
echo "== the same on the CPU, for the ratio"
"$BUILD/bench/bench_train" --preset both --device cpu --windows 3
echo "== the paper preset at the authors' batch 256 on the GPU (random images: no dataset package needed)"
"$BUILD/bench/bench_train" --preset paper --batch 256 --device cuda --windows 5
