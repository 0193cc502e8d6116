#!/usr/bin/env bash
# "Your own models and data" end to end through the real binary: the CIFAR-10 binary format (files
# written here in that exact format) trains the paper's 64×64 net family (dcgan64, 3 channels), whose
# generator then exports to every format, ternarizes to a packed file and samples; python3-torch runs
# the exported TorchScript, which then serves as a black-box source of a barycenter.
# Usage: own_models_and_data.sh PATH/TO/coalesce-cli
set -u
CLI="$1"
PY=/usr/bin/python3
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
source "$(dirname "$0")/expect_error.sh"
T=(--threads 1 --quiet)

# A CIFAR-10 folder: 5 training batches of 4 records (label byte + R, G, B planes) and a test batch.
$PY - "$WORK/cifar" <<'PY'
import os, random, sys
d = sys.argv[1]; os.makedirs(d)
rnd = random.Random(1)
def batch(name, labels):
    with open(os.path.join(d, name), "wb") as f:
        for label in labels:
            f.write(bytes([label]) + bytes(rnd.randrange(256) for _ in range(3072)))
for b in range(1, 6):
    batch("data_batch_%d.bin" % b, [(4 * b + i) % 10 for i in range(4)])
batch("test_batch.bin", [3, 5])
PY
run "pretrain dcgan64 small (3 channels) on cifar10 classes 2,3" pretrain --data "cifar10:$WORK/cifar:train:2,3" \
  --family dcgan64 --preset small --channels 3 --iterations 2 --batch-size 4 --sample-every 0 --checkpoint-every 2 \
  --out "$WORK/src" "${T[@]}"
G="$WORK/src/generator.coalesce"
"$CLI" info "$G" >"$WORK/info.txt" 2>&1 && grep -q "dcgan64 3×64×64" "$WORK/info.txt" \
  && ok "info: dcgan64 3×64×64" || { fail "info of the dcgan64 generator:"; cat "$WORK/info.txt"; }
$PY -c "import json,sys; d=json.load(open(sys.argv[1]))['dataset']; assert d['size']==4 and d['name']=='cifar10:train:2,3', d" \
  "$WORK/src/config.json" && ok "4 CIFAR images of classes 2,3 recorded" || fail "dataset record in $WORK/src/config.json"
for format in torchscript safetensors state_dict; do
  run "export $format" export --generator "$G" --format "$format" --out "$WORK/g.$format"
  run "info of the $format export" info "$WORK/g.$format"
done
run "ternarize the dcgan64 generator" ternarize --generator "$G" --method twn --out "$WORK/tern" "${T[@]}"
run "sample the packed dcgan64 generator" sample --generator "$WORK/tern/generator.ctern" --out "$WORK/grid.png"
$PY - "$WORK/g.torchscript" <<'PY' && ok "python3-torch runs the exported 64×64 TorchScript" || fail "python3-torch on the export"
import sys, torch
m = torch.jit.load(sys.argv[1]); m.eval()
out = m(torch.randn(3, 100))
assert tuple(out.shape) == (3, 3, 64, 64) and out.abs().max() <= 1, out.shape
PY
# The export as a black box next to its own .coalesce: G (dcgan64, from the file) samples the box at 64×64.
run "barycenter with a black-box source" barycenter --source "$G" --black-box "$WORK/g.torchscript" --radius 1 --radius 1 \
  --iterations 2 --batch-size 4 --sample-every 0 --checkpoint-every 2 --out "$WORK/bary" "${T[@]}"
grep -q "TorchScript black box" "$WORK/bary/config.json" && ok "config.json records the black box" \
  || fail "no black box in $WORK/bary/config.json"
# A truncated CIFAR file: refused naming the file and the partial record.
truncate -s -7 "$WORK/cifar/test_batch.bin"
expect_error "test_batch.bin: 6139 bytes is not a whole number of 3073-byte CIFAR-10 records" \
  pretrain --data "cifar10:$WORK/cifar:test" --iterations 1 --out "$WORK/x" "${T[@]}"
[ "$failures" -eq 0 ] && echo "ok: all own-models-and-data checks passed"
exit "$failures"
