#!/usr/bin/env bash
# Screenshots of the real Coalesce window for the README (docs/screenshots/*.png).
#
# Runs a tiny pipeline with the real engine jobs, offscreen (QT_QPA_PLATFORM=offscreen, no display):
#   images: the shipped sources (samples/models/source_0123, source_4567: Fashion-MNIST classes {0..3} and
#           {4..7}; or, with PRETRAIN=1 or when they are missing, two small DCGANs pretrained here), a project
#           with both (radii 0.5 and 1.0) and local data {8,9}, n = 20; open it and run the barycenter
#           live while measuring the GUI thread's longest stall; grab every main view (Curves, Samples,
#           Compare, Sources, Local data, a mid-run shot, dark theme, About).
#   toy:    pretrain two 2-D sources (rings of radius 2 and 4) and run their constrained barycenter live;
#           grab the Toy 2-D view and its curves.
# Each stage is one `coalesce --run config.json [--screenshot dir] project` call (the same window a user
# sees; the --run file only sets what differs from the Stages dock's defaults).
#
#   scripts/screenshots.sh [out-dir]        (default docs/screenshots)
# Env: BUILD_DIR (build), PRETRAIN=1 (pretrain the image sources here instead of using the shipped ones),
#      ITER (image pretrain iterations with PRETRAIN=1, 300), BARY_ITER (image barycenter, 150),
#      TOY_ITER (toy iterations, 600), JOBS (build jobs, 2), SKIP_BUILD=1 (use the built app as is),
#      WORK_DIR (keep the work folder there and reuse its pretrained sources),
#      BUILD_LOCK (a file: hold it with flock while building, for machines that share a build dir),
#      STALL_LOAD (busy-loop processes kept running beside every stage, default 0: the README's GUI
#      stall figures were taken with STALL_LOAD=3, a load average of about 4 on the 2-core machine,
#      because a stall is only visible when the GUI thread has to compete for a core).
#      LibTorch runs with 1 thread: on a shared 2-core machine two OpenMP threads were 5x slower than one.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR="${BUILD_DIR:-build}"
OUT="${1:-docs/screenshots}"
ITER="${ITER:-300}"
BARY_ITER="${BARY_ITER:-150}"
TOY_ITER="${TOY_ITER:-600}"
if [ -n "${WORK_DIR:-}" ]; then
  # Kept between calls: sources already pretrained there are reused (quick re-shoots after UI changes).
  WORK="$WORK_DIR"
  mkdir -p "$WORK"
  find "$WORK/images/runs" "$WORK/toy/runs" -mindepth 1 -maxdepth 1 ! -name 'source-*' -exec rm -rf {} + 2>/dev/null || true
  rm -rf "$WORK/shots" "$WORK/toyshots"
else
  WORK="$(mktemp -d /tmp/coalesce-screens.XXXXXX)"
  trap 'rm -rf "$WORK"' EXIT
fi

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  if [ -n "${BUILD_LOCK:-}" ]; then
    flock "$BUILD_LOCK" cmake --build "$BUILD_DIR" --target coalesce -j "${JOBS:-2}"
  else
    cmake --build "$BUILD_DIR" --target coalesce -j "${JOBS:-2}"
  fi
fi
APP="$ROOT/$BUILD_DIR/app/coalesce"
export QT_QPA_PLATFORM=offscreen OMP_NUM_THREADS=1
COMMON=(--settings "$WORK/settings.ini" --theme light --size 1400x880 --timeout 3600)
RUNTIME='"runtime": {"threads": 1, "device": "cpu"}'
mkdir -p "$OUT" "$WORK/images/runs" "$WORK/toy/runs"
LOAD_PIDS=()
stop_load() { if [ ${#LOAD_PIDS[@]} -gt 0 ]; then kill "${LOAD_PIDS[@]}" 2>/dev/null || true; fi; LOAD_PIDS=(); }
for _ in $(seq "${STALL_LOAD:-0}"); do
  bash -c 'while :; do :; done' &
  LOAD_PIDS+=($!)
done
trap 'stop_load; if [ -z "${WORK_DIR:-}" ]; then rm -rf "$WORK"; fi' EXIT
[ ${#LOAD_PIDS[@]} -eq 0 ] || echo "[screenshots] ${#LOAD_PIDS[@]} busy loops as background load (STALL_LOAD)"

pretrain() {  # pretrain <run dir> <data> <family> <iterations> <seed> <batch>
  if [ -f "$1/generator.coalesce" ]; then echo "[screenshots] reusing $1"; return; fi
  cat > "$WORK/cfg.json" <<JSON
{"kind": "pretrain", "data": "$2", "arch": {"family": "$3", "preset": "small"}, "iterations": $4,
 "batch_size": $6, "seed": $5, "sample_every": 50, "checkpoint_every": 50, $RUNTIME, "run_dir": "$1"}
JSON
  echo "[screenshots] pretrain $2 ($4 iterations) -> $1"
  "$APP" "${COMMON[@]}" --run "$WORK/cfg.json" | grep -E '^\[' || true
  [ -f "$1/generator.coalesce" ] || { echo "[screenshots] pretrain failed: $1/generator.coalesce missing" >&2; exit 1; }
}

shipped_or_pretrain() {  # <run dir> <shipped folder under samples/models> <data> <seed>
  if [ "${PRETRAIN:-0}" != 1 ] && [ -f "$ROOT/samples/models/$2/generator.coalesce" ] && [ ! -f "$1/generator.coalesce" ]; then
    echo "[screenshots] using the shipped source samples/models/$2"
    mkdir -p "$1" && cp -r "$ROOT/samples/models/$2/." "$1/"
  fi
  pretrain "$1" "$3" dcgan32 "$ITER" "$4" 32
}

project() {  # project <file> <local data spec> <n> <weighting> <source a name> <radius a> <source b name> <radius b>
  cat > "$1" <<JSON
{"format": "coalesce-project", "version": 1,
 "sources": [{"id": "s1", "name": "$5", "path": "runs/source-a/generator.coalesce", "radius": $6},
             {"id": "s2", "name": "$7", "path": "runs/source-b/generator.coalesce", "radius": $8}],
 "weighting": "$4", "combination": "joint",
 "local_data": {"spec": "$2", "n": $3, "seed": 1}, "stages": {},
 "runs": [{"kind": "pretrain", "dir": "runs/source-a", "label": "source a: $5", "status": "finished"},
          {"kind": "pretrain", "dir": "runs/source-b", "label": "source b: $7", "status": "finished"}]}
JSON
}

# ---------------------------------------------------------------- images
shipped_or_pretrain "$WORK/images/runs/source-a" source_0123 "fashion-mnist:train:0,1,2,3" 1
shipped_or_pretrain "$WORK/images/runs/source-b" source_4567 "fashion-mnist:train:4,5,6,7" 2
project "$WORK/images/fashion.coalesce-project" "fashion-mnist:train:8,9" 20 fixed "classes 0-3" 0.5 "classes 4-7" 1.0
cat > "$WORK/bary.json" <<JSON
{"kind": "barycenter", "iterations": $BARY_ITER, "batch_size": 32, "sample_every": 25, "checkpoint_every": 50,
 "evaluation": {"reference": "fashion-mnist:test:0,1,2,3,4,5,6,7", "real_samples": 500, "fake_samples": 500, "w1_samples": 500},
 "evaluation_every": 50, $RUNTIME}
JSON
echo "[screenshots] image barycenter live + screenshots"
"$APP" "${COMMON[@]}" --screenshot "$WORK/shots" --run "$WORK/bary.json" "$WORK/images/fashion.coalesce-project" \
  | tee "$WORK/images.log" | grep -E '^\[' || true

# ---------------------------------------------------------------- toy
pretrain "$WORK/toy/runs/source-a" "toy:ring8" mlp2d "$TOY_ITER" 1 128
pretrain "$WORK/toy/runs/source-b" "toy:ring:8,4,0.05" mlp2d "$TOY_ITER" 2 128
project "$WORK/toy/toy.coalesce-project" "toy:ring8" 64 constrained "ring r=2" 1.0 "ring r=4" 1.0
cat > "$WORK/toybary.json" <<JSON
{"kind": "barycenter", "iterations": $TOY_ITER, "batch_size": 128, "sample_every": 50, "checkpoint_every": 50, $RUNTIME}
JSON
echo "[screenshots] toy barycenter live + screenshots"
"$APP" "${COMMON[@]}" --screenshot "$WORK/toyshots" --run "$WORK/toybary.json" "$WORK/toy/toy.coalesce-project" \
  | tee "$WORK/toy.log" | grep -E '^\[' || true
cp "$WORK/toyshots/toy2d.png" "$WORK/shots/toy2d.png"
cp "$WORK/toyshots/curves.png" "$WORK/shots/toy-curves.png"

# ---------------------------------------------------------------- into the docs
stop_load
cp "$WORK"/shots/*.png "$OUT"/
echo "[screenshots] wrote $(ls "$OUT"/*.png | wc -l) PNGs to $OUT"
grep -h -E '^\[(stall|replot)\]' "$WORK/images.log" "$WORK/toy.log" || true
