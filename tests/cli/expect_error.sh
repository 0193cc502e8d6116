# Sourced by the tests/cli scripts: expect_error EXPECTED-SUBSTRING ARGS... runs "$CLI" ARGS and counts a
# failure (in $failures) unless it exits non-zero with EXPECTED-SUBSTRING in its output.
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
