# Sourced by the tests/cli scripts: the failure count ($failures) with fail/ok reporters, and
# expect_error EXPECTED-SUBSTRING ARGS..., which runs "$CLI" ARGS and counts a failure unless it exits
# non-zero with EXPECTED-SUBSTRING in its output.
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
