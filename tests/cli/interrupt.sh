#!/usr/bin/env bash
# Ctrl-C (SIGINT) on a training run: the CLI's handler only sets the job's cancel flag (async-signal-safe),
# the job stops at its next check, says so, exits 130, and leaves its last checkpoint intact and readable.
# Without the handler the process would die of the signal with no "cancelled" message (also rc 130 in bash),
# so the message and the run's own status are what this checks. Usage: interrupt.sh PATH/TO/coalesce-cli
set -u
CLI="$1"
WORK="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null; rm -rf "$WORK"' EXIT
cat > "$WORK/job.json" <<JSON
{"kind": "pretrain", "data": "toy:ring8", "arch": {"family": "mlp2d", "preset": "small"}, "iterations": 1000000,
 "batch_size": 64, "sample_every": 0, "checkpoint_every": 20, "run_dir": "$WORK/run", "runtime": {"threads": 1}}
JSON
"$CLI" run "$WORK/job.json" --quiet >"$WORK/out.txt" 2>&1 &
pid=$!
for _ in $(seq 600); do [ -f "$WORK/run/checkpoints/latest.coalesce" ] && break; sleep 0.1; done
[ -f "$WORK/run/checkpoints/latest.coalesce" ] || { echo "FAIL: no checkpoint within 60 s"; cat "$WORK/out.txt"; exit 1; }
kill -INT "$pid"
for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then echo "FAIL: still running 30 s after SIGINT"; exit 1; fi
wait "$pid"; rc=$?
failures=0
[ "$rc" -eq 130 ] || { echo "FAIL: exit code $rc, expected 130"; failures=$((failures + 1)); }
grep -q "pretrain cancelled" "$WORK/out.txt" || { echo "FAIL: no 'pretrain cancelled' message:"; cat "$WORK/out.txt"; failures=$((failures + 1)); }
if "$CLI" info "$WORK/run/checkpoints/latest.coalesce" >"$WORK/info.txt" 2>&1; then
  echo "ok: the last checkpoint reads back: $(head -1 "$WORK/info.txt")"
else
  echo "FAIL: the last checkpoint does not read back:"; cat "$WORK/info.txt"; failures=$((failures + 1))
fi
[ "$failures" -eq 0 ] && echo "ok: SIGINT -> rc 130, '$(grep -m1 cancelled "$WORK/out.txt")'"
exit "$failures"
