#!/usr/bin/env bash
# Absurd command-line values get a clear, specific error and a non-zero exit code, before any work
# (issue "foundations", defect 5). Usage: bad_arguments.sh PATH/TO/coalesce-cli
set -u
CLI="$1"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
touch "$WORK/g.coalesce"
source "$(dirname "$0")/expect_error.sh"
expect_error "--out: empty value" sample --generator "$WORK/g.coalesce" --out ""
expect_error "--out: empty value" export --generator "$WORK/g.coalesce" --format safetensors --out=
expect_error "--columns: must be in 0..n" sample --generator "$WORK/g.coalesce" --out "$WORK/x.png" --columns -3
expect_error "--columns: must be in 0..n" sample --generator "$WORK/g.coalesce" --out "$WORK/x.png" --n 4 --columns 9
expect_error "is the --generator file itself" export --generator "$WORK/g.coalesce" --format safetensors --out "$WORK/g.coalesce"
expect_error "is the --generator file itself" export --generator "$WORK/g.coalesce" --format safetensors --out "$WORK/./g.coalesce"
expect_error "--k: must be >= 1" ternarize --generator "$WORK/g.coalesce" --data fashion-mnist:train:8,9 --k 0 --out "$WORK/t"
expect_error "--n: must be in 1..100000" sample --generator "$WORK/g.coalesce" --out "$WORK/x.png" --n 0
# Files that are not what they should be: named, with the reason, and never a hang (issue "foundations", 8).
echo '[1, 2]' > "$WORK/array.json"
mkdir -p "$WORK/folder.json"
mkfifo "$WORK/fifo.coalesce"
expect_error "array.json: expected a JSON object" run "$WORK/array.json"
expect_error "folder.json: is a directory" run "$WORK/folder.json"
out="$(timeout 20 "$CLI" info "$WORK/fifo.coalesce" 2>&1)"; rc=$?
if [ "$rc" -eq 124 ] || ! grep -qF "fifo.coalesce: not a regular file" <<<"$out"; then
  echo "FAIL: info on a FIFO -> rc $rc: $out"; failures=$((failures + 1))
else
  echo "ok: info on a FIFO -> $out"
fi
expect_error "/dev/zero: not a regular file" info /dev/zero
# --precision on a job that does not train says so (was: "runtime.precision is not a runtime field").
echo '{"kind": "evaluate", "generator": "'"$WORK"'/g.coalesce"}' > "$WORK/evaluate.json"
expect_error 'runtime.precision is for training jobs, and "evaluate" does not train' run "$WORK/evaluate.json" --precision bf16
# A failing job's error is printed once, not by the job's log and again by the CLI.
echo '{"kind": "pretrain", "data": "idx:'"$WORK"'/missing-images", "iterations": 2, "arch": {"family": "dcgan32", "preset": "small"}}' \
  > "$WORK/bad_data.json"
out="$("$CLI" run "$WORK/bad_data.json" --run-dir "$WORK/bad_run" --quiet 2>&1)"
if [ "$(grep -c "missing-images: no such file" <<<"$out")" != 1 ]; then
  echo "FAIL: the job error is not printed exactly once: $out"; failures=$((failures + 1))
else
  echo "ok: the job error is printed once"
fi
# A batch that cannot fit in memory is refused before any allocation (was: "[enforce fail at alloc_cpu.cpp]").
expect_error "use a batch of at most" pretrain --data fashion-mnist:train --batch-size 1000000000 --iterations 1 \
  --out "$WORK/huge_batch" --threads 1 --quiet
# `evaluator info` describes the cache and never trains (it trained a feature net for ~20 min on an empty one).
mkdir -p "$WORK/empty_cache"
out="$(timeout 60 "$CLI" evaluator info --cache-dir "$WORK/empty_cache" 2>&1)"; rc=$?
if [ $rc -eq 0 ] && grep -q '"nets": \[\]' <<<"$out" && grep -q "no feature network cached" <<<"$out" && [ -z "$(ls -A "$WORK/empty_cache")" ]; then
  echo "ok: evaluator info on an empty cache says so and trains nothing"
else
  echo "FAIL: evaluator info on an empty cache -> rc $rc: $out; cache now: $(ls -A "$WORK/empty_cache")"; failures=$((failures + 1))
fi
expect_error "--epochs is for 'evaluator train'" evaluator info --epochs 2 --cache-dir "$WORK/empty_cache"
# The files the refused commands named are untouched.
[ -f "$WORK/g.coalesce" ] && [ ! -s "$WORK/g.coalesce" ] || { echo "FAIL: the generator file was changed"; failures=$((failures + 1)); }
exit $((failures > 0))
