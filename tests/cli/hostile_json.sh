#!/usr/bin/env bash
# JSON nested far too deep, wherever Coalesce reads JSON from outside: a job config, the metadata of a
# .coalesce file (its header is outside the data checksum), a packed .ctern header. Each must give a
# clear error, not a stack overflow (issue "foundations", defect 1: these crashed with SIGSEGV).
# Usage: hostile_json.sh PATH/TO/coalesce-cli SOURCE_DIR
set -u
CLI="$1"
SRC="$2"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
failures=0
expect_error() {  # expected-substring args...
  local expected="$1"; shift
  local out rc
  out="$("$CLI" "$@" 2>&1)"; rc=$?
  if [ "$rc" -eq 0 ] || [ "$rc" -ge 128 ] || ! grep -qF -- "$expected" <<<"$out"; then
    echo "FAIL: coalesce-cli $* -> rc $rc, output: $(head -c 400 <<<"$out") (expected an error containing: $expected)"
    failures=$((failures + 1))
  else
    echo "ok: coalesce-cli $* -> rc $rc: $(head -c 200 <<<"$out")"
  fi
}
/usr/bin/python3 - "$WORK" "$SRC/samples/models/source_0123/generator.coalesce" <<'PY'
import json, struct, sys, zlib
work, model = sys.argv[1], sys.argv[2]
deep = "[" * 200000 + "]" * 200000
# A run config nested 200 000 deep.
open(f"{work}/deep_config.json", "w").write('{"kind": "pretrain", "x": ' + deep + "}")
# A .coalesce whose "meta" metadata (a JSON string inside the header) is nested 200 000 deep.
data = open(model, "rb").read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
header["__metadata__"]["meta"] = deep
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * ((8 - len(text) % 8) % 8)
open(f"{work}/deep_meta.coalesce", "wb").write(struct.pack("<Q", len(text)) + text + data[8 + n:])
# A packed ternary file whose header is nested 200 000 deep, with a correct checksum.
head = deep.encode()
body = struct.pack("<Q", len(head)) + head
crc = zlib.crc32(body) & 0xFFFFFFFF
open(f"{work}/deep.ctern", "wb").write(b"COALTERN" + struct.pack("<II", 1, crc) + body)
PY
expect_error "nested deeper than" run "$WORK/deep_config.json" --run-dir "$WORK/run"
expect_error "nested deeper than" info "$WORK/deep_meta.coalesce"
expect_error "nested deeper than" sample --generator "$WORK/deep_meta.coalesce" --out "$WORK/x.png"
expect_error "nested deeper than" info "$WORK/deep.ctern"
exit $((failures > 0))
