#!/usr/bin/env bash
# Absurd command-line values get a clear, specific error and a non-zero exit code, before any work
# (issue "foundations", defect 5). Usage: bad_arguments.sh PATH/TO/coalesce-cli
set -u
CLI="$1"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
touch "$WORK/g.coalesce"
failures=0
expect_error() {  # expected-substring args...
  local expected="$1"; shift
  local out rc
  out="$("$CLI" "$@" 2>&1)"; rc=$?
  if [ "$rc" -eq 0 ] || ! grep -qF -- "$expected" <<<"$out"; then
    echo "FAIL: coalesce-cli $* -> rc $rc, output: $out (expected an error containing: $expected)"
    failures=$((failures + 1))
  else
    echo "ok: coalesce-cli $* -> $(head -1 <<<"$out")"
  fi
}
expect_error "--out: empty value" sample --generator "$WORK/g.coalesce" --out ""
expect_error "--out: empty value" export --generator "$WORK/g.coalesce" --format safetensors --out=
expect_error "--columns: must be in 0..n" sample --generator "$WORK/g.coalesce" --out "$WORK/x.png" --columns -3
expect_error "--columns: must be in 0..n" sample --generator "$WORK/g.coalesce" --out "$WORK/x.png" --n 4 --columns 9
expect_error "is the --generator file itself" export --generator "$WORK/g.coalesce" --format safetensors --out "$WORK/g.coalesce"
expect_error "is the --generator file itself" export --generator "$WORK/g.coalesce" --format safetensors --out "$WORK/./g.coalesce"
expect_error "--k: must be >= 1" ternarize --generator "$WORK/g.coalesce" --data fashion-mnist:train:8,9 --k 0 --out "$WORK/t"
expect_error "--n: must be in 1..100000" sample --generator "$WORK/g.coalesce" --out "$WORK/x.png" --n 0
# The files the refused commands named are untouched.
[ -f "$WORK/g.coalesce" ] && [ ! -s "$WORK/g.coalesce" ] || { echo "FAIL: the generator file was changed"; failures=$((failures + 1)); }
exit $((failures > 0))
