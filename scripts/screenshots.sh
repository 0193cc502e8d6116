#!/usr/bin/env bash
# Screenshots of the real Coalesce window for the README (docs/screenshots/*.png).
#
# Runs a tiny pipeline offscreen (QT_QPA_PLATFORM=offscreen, no display needed):
#   1. pretrains two small source generators (Fashion-MNIST classes {0..3} and {4..7}; a few hundred
#      iterations of the "small" DCGAN),
#   2. writes a project with both as sources (radii 0.5 and 1.0) and local data {8,9}, n = 20,
#   3. opens it, runs one more stage live while measuring the GUI thread's longest stall, and grabs
#      every main view (Curves, Samples, Compare, Toy 2-D, Sources, Local data, dark theme, About),
#   4. does the same for the 2-D toy mode (ring8), for the scatter view.
# Then shrinks the PNGs (if pngquant/optipng exist) into docs/screenshots/.
#
#   scripts/screenshots.sh [out-dir]      (default docs/screenshots)
# Env: BUILD_DIR (default build), ITER (pretrain iterations, default 300), TOY_ITER (default 600).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR="${BUILD_DIR:-build}"
OUT="${1:-docs/screenshots}"
ITER="${ITER:-300}"
TOY_ITER="${TOY_ITER:-600}"
WORK="$(mktemp -d /tmp/coalesce-screens.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD_DIR" --target coalesce -j "${JOBS:-2}"
APP="$ROOT/$BUILD_DIR/app/coalesce"
export QT_QPA_PLATFORM=offscreen
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
SETTINGS="$WORK/settings.ini"
mkdir -p "$OUT"

run_stage() {  # run_stage <config.json> [project] : runs one stage headless, no screenshots
  local cfg=$1; shift
  "$APP" --settings "$SETTINGS" --run "$cfg" --timeout 1800 "$@"
}

# ---------------------------------------------------------------- 1. two image sources
for s in a b; do
  classes=$([ $s = a ] && echo 0,1,2,3 || echo 4,5,6,7)
  cat > "$WORK/pretrain-$s.json" <<JSON
{"kind": "pretrain", "data": "fashion-mnist:train:$classes", "arch": {"family": "dcgan32", "preset": "small"},
 "iterations": $ITER, "batch_size": 32, "seed": $([ $s = a ] && echo 1 || echo 2), "sample_every": 50,
 "checkpoint_every": 100, "runtime": {"threads": 2, "device": "cpu"}, "run_dir": "$WORK/project/runs/source-$s"}
JSON
  echo "[screenshots] pretraining source $s (classes $classes, $ITER iterations)"
  run_stage "$WORK/pretrain-$s.json"
done

# ---------------------------------------------------------------- 2. the project
cat > "$WORK/project/fashion.coalesce-project" <<JSON
{
  "format": "coalesce-project", "version": 1,
  "sources": [
    {"id": "s1", "name": "tops (0-3)",  "path": "runs/source-a/generator.coalesce", "radius": 0.5},
    {"id": "s2", "name": "shoes (4-7)", "path": "runs/source-b/generator.coalesce", "radius": 1.0}
  ],
  "weighting": "fixed", "combination": "joint",
  "local_data": {"spec": "fashion-mnist:train:8,9", "n": 20, "seed": 1},
  "stages": {},
  "runs": [
    {"kind": "pretrain", "dir": "runs/source-a", "label": "source a (0-3)", "status": "finished"},
    {"kind": "pretrain", "dir": "runs/source-b", "label": "source b (4-7)", "status": "finished"}
  ]
}
JSON

# ---------------------------------------------------------------- 3. a live stage + screenshots
# A third pretrain on the target classes, live (switch to the barycenter stage once the engine has it).
LIVE="$WORK/live.json"
cat > "$LIVE" <<JSON
{"kind": "pretrain", "data": "fashion-mnist:train:8,9", "arch": {"family": "dcgan32", "preset": "small"},
 "iterations": $ITER, "batch_size": 32, "seed": 3, "sample_every": 50, "checkpoint_every": 100,
 "runtime": {"threads": 2, "device": "cpu"}}
JSON
echo "[screenshots] live run + screenshots"
"$APP" --settings "$SETTINGS" --theme light --size 1400x880 --screenshot "$WORK/shots" --run "$LIVE" \
       --timeout 1800 "$WORK/project/fashion.coalesce-project" | tee "$WORK/live.log"

# ---------------------------------------------------------------- 4. toy mode
mkdir -p "$WORK/toy"
cat > "$WORK/toy/toy.coalesce-project" <<JSON
{"format": "coalesce-project", "version": 1, "sources": [],
 "local_data": {"spec": "toy:ring8", "n": 64, "seed": 1}, "stages": {}, "runs": []}
JSON
cat > "$WORK/toy.json" <<JSON
{"kind": "pretrain", "data": "toy:ring8", "arch": {"family": "mlp2d", "preset": "small"},
 "iterations": $TOY_ITER, "batch_size": 128, "seed": 1, "sample_every": 50, "checkpoint_every": 50,
 "runtime": {"threads": 2, "device": "cpu"}}
JSON
echo "[screenshots] toy run"
"$APP" --settings "$SETTINGS" --theme light --size 1400x880 --screenshot "$WORK/toyshots" --run "$WORK/toy.json" \
       --timeout 1800 "$WORK/toy/toy.coalesce-project" | tee "$WORK/toy.log"
cp "$WORK/toyshots/toy2d.png" "$WORK/shots/toy2d.png"
cp "$WORK/toyshots/samples.png" "$WORK/shots/toy-samples.png"

# ---------------------------------------------------------------- 5. into the docs, small
for f in "$WORK"/shots/*.png; do
  name=$(basename "$f")
  if command -v pngquant >/dev/null; then
    pngquant --force --quality 70-95 --output "$OUT/$name" "$f"
  else
    cp "$f" "$OUT/$name"
  fi
  command -v optipng >/dev/null && optipng -quiet -o2 "$OUT/$name" || true
done
echo "[screenshots] wrote $(ls "$OUT"/*.png | wc -l) PNGs to $OUT"
grep -h -E '^\[(stall|replot)\]' "$WORK/live.log" "$WORK/toy.log" || true
