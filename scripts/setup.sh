#!/usr/bin/env bash
# Installs every Debian package Coalesce needs (idempotent: a fast no-op when all are present),
# then configures and builds it (Release, Ninja) into ./build.
#   scripts/setup.sh            install + build
#   scripts/setup.sh --deps     install only
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libtorch-dev libopenblas0-openmp              # LibTorch on the system BLAS: OpenBLAS is ~11x the reference BLAS
  libgoogle-perftools-dev                       # tcmalloc_minimal, the programs' allocator (CMakeLists.txt, bench/allocator.sh)
  libgloo-dev                                   # headers of c10d's Gloo backend (data-parallel training)
  qt6-base-dev qt6-base-dev-tools libqt6svg6 qt6-qpa-plugins
  libqcustomplot-dev libqcustomplot2.1-qt6
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  libpng-dev                                    # PNG decoding with libpng's warnings collected, not printed
  liblemon-dev nlohmann-json3-dev zlib1g-dev
  dataset-fashion-mnist
  python3 python3-torch python3-numpy python3-pot  # interop and golden-value scripts (Debian's /usr/bin/python3)
  xvfb xauth                                        # GUI screenshots / smoke tests without a display
  slurm-wlm munge                                   # the Slurm proof of scripts/slurm/ (a one-node cluster in a test)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "[setup] installing ${#missing[@]} package(s): ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "[setup] all ${#PACKAGES[@]} packages present"
fi
[ "${1:-}" = "--deps" ] && exit 0

BUILD_DIR="${COALESCE_BUILD_DIR:-build}"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD_DIR" -j "$(nproc)"
