# Sourced by the tests/cli scripts: the failure count ($failures) with fail/ok reporters, and
# expect_error EXPECTED-SUBSTRING ARGS..., which runs "$CLI" ARGS and counts a failure unless it exits
# non-zero with EXPECTED-SUBSTRING in its output; run DESCRIPTION ARGS..., which counts a failure unless
# "$CLI" ARGS succeeds (its output kept in "$WORK/out.txt" and shown on failure; $WORK must be set).
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
expect_error() {
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
run() {
  local what="$1"; shift
  if "$CLI" "$@" >"$WORK/out.txt" 2>&1; then ok "$what"; else fail "$what: coalesce-cli $* ->"; cat "$WORK/out.txt"; fi
}
