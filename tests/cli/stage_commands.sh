#!/usr/bin/env bash
# The stage subcommands (barycenter, adapt, average) on tiny 2-D toy runs: each builds the job config
# `coalesce-cli run` accepts (--print-config shows it, the engine checks it), runs it, resumes it with
# only the given options changed, and refuses inconsistent flags with a specific message.
# Usage: stage_commands.sh PATH/TO/coalesce-cli
set -u
CLI="$1"
PY=/usr/bin/python3
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
source "$(dirname "$0")/expect_error.sh"
T=(--threads 1 --quiet)
run "toy source a" pretrain --data toy:ring8 --family mlp2d --iterations 10 --sample-every 0 --checkpoint-every 10 --out "$WORK/a" "${T[@]}"
run "toy source b" pretrain --data toy:grid25 --family mlp2d --iterations 10 --sample-every 0 --checkpoint-every 10 --out "$WORK/b" "${T[@]}"
A="$WORK/a/generator.coalesce"; B="$WORK/b/generator.coalesce"
# pretrain without --lr leaves the learning rate to the engine: 1e-3 for the 2-D toy (it used to send 1e-4).
if $PY - "$WORK/a" <<'PY'
import json, re, struct, sys
assert "lr" not in json.load(open(sys.argv[1] + "/config.json")), "config.json has an lr the user did not give"
b = open(sys.argv[1] + "/checkpoints/latest.coalesce", "rb").read()
meta = json.loads(b[8:8 + struct.unpack("<Q", b[:8])[0]])["__metadata__"]["meta"]
assert re.search(r'"lr_g":0\.001\b', meta), re.findall(r'"lr_[gd]":[^,]*', meta)
PY
then ok "pretrain without --lr trains the toy at the engine's 1e-3"; else fail "pretrain's default learning rate"; fi

# barycenter: --print-config writes the config, `run` runs it.
if "$CLI" barycenter --source "$A" --source "$B" --name ring --name grid --radius 0.5 --radius 2 --iterations 4 \
     --batch-size 16 --sample-every 0 --checkpoint-every 2 --out "$WORK/bary" --threads 1 --print-config >"$WORK/bary.json" 2>"$WORK/err.txt"; then
  if $PY - "$WORK/bary.json" "$A" "$B" "$WORK/bary" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
assert c["kind"] == "barycenter", c
assert [s["generator"] for s in c["sources"]] == sys.argv[2:4], c["sources"]
assert [s["radius"] for s in c["sources"]] == [0.5, 2.0], c["sources"]
assert [s["name"] for s in c["sources"]] == ["ring", "grid"], c["sources"]
assert c["iterations"] == 4 and c["batch_size"] == 16 and c["run_dir"] == sys.argv[4], c
assert "resume" not in c and "lr" not in c, c  # only what was given: the engine's defaults stay its own
PY
  then ok "barycenter --print-config"; else fail "barycenter --print-config wrote:"; cat "$WORK/bary.json"; fi
else
  fail "barycenter --print-config"; cat "$WORK/err.txt"
fi
[ -d "$WORK/bary" ] && fail "--print-config created the run directory"
run "run the printed barycenter config" run "$WORK/bary.json" --quiet
[ -f "$WORK/bary/generator.coalesce" ] || fail "no barycenter generator"
# Resume with one option changed: the recorded sources and radii are kept.
run "barycenter --resume --iterations 6" barycenter --out "$WORK/bary" --resume --iterations 6 --quiet
$PY -c "import json,sys; s=json.load(open(sys.argv[1])); assert s['steps']==6 and s['status']=='finished', s" "$WORK/bary/summary.json" \
  && ok "resumed barycenter ran to 6 steps" || fail "resumed barycenter summary: $(cat "$WORK/bary/summary.json")"

# adapt and average, run directly.
run "adapt" adapt --from "$WORK/bary/generator.coalesce" --data toy:ring8 --n 16 --lambda-barycenter auto --schedule cosine \
  --iterations 3 --batch-size 8 --sample-every 0 --checkpoint-every 3 --out "$WORK/adapt" "${T[@]}"
[ -f "$WORK/adapt/generator.coalesce" ] || fail "no adapted generator"
$PY -c "import json,sys; c=json.load(open(sys.argv[1])); c=c.get('job', c); assert c['lambda_barycenter']=='auto' and c['barycenter_schedule']=='cosine' and c['k']==16, c" \
  "$WORK/adapt/config.json" && ok "adapt recorded its options" || fail "adapt config.json: $(head -c 600 "$WORK/adapt/config.json")"
# Reproducibility: the same config with the same thread count gives bit-identical weights on one
# machine, and the run records the CPU (other CPUs pick other oneDNN/OpenBLAS kernels: different bits).
run "adapt again" adapt --from "$WORK/bary/generator.coalesce" --data toy:ring8 --n 16 --lambda-barycenter auto --schedule cosine \
  --iterations 3 --batch-size 8 --sample-every 0 --checkpoint-every 3 --out "$WORK/adapt2" "${T[@]}"
if $PY - "$WORK/adapt" "$WORK/adapt2" "${COALESCE_EXPECTED_ALLOCATOR:?set by tests/cli/CMakeLists.txt}" <<'PY'
import json, struct, sys
def weights(d):
    b = open(d + "/generator.coalesce", "rb").read()
    return b[8 + struct.unpack("<Q", b[:8])[0]:]  # the tensors after the header (which names the run folder)
assert weights(sys.argv[1]) == weights(sys.argv[2]), "two runs of one config differ"
runtime = json.load(open(sys.argv[1] + "/config.json"))["recorded"]["runtime"]
cpu = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
assert cpu in runtime and "1 threads" in runtime, runtime
allocator = sys.argv[3]  # the allocator the build linked (CMakeLists.txt, COALESCE_TCMALLOC)
assert runtime.endswith(", " + allocator), (runtime, allocator)
PY
then ok "one config, one thread count: bit-identical runs; the CPU and the allocator are recorded"; else fail "reproducibility"; fi
# Radii measured in the feature space of local data other than (fashion-)mnist need the feature net's data.
if "$CLI" barycenter --source "$A" --source "$B" --radii auto --local folder:/data/few --feature-net-data folder:/data/train \
     --out "$WORK/fnd" --print-config >"$WORK/fnd.json" 2>"$WORK/err.txt" &&
   "$CLI" adapt --from "$A" --data folder:/data/few --lambda-barycenter auto --space features --feature-net-data folder:/data/train \
     --out "$WORK/fnd2" --print-config >"$WORK/fnd2.json" 2>>"$WORK/err.txt" && $PY - "$WORK/fnd.json" "$WORK/fnd2.json" <<'PY'
import json, sys
for f in sys.argv[1:]:
    e = json.load(open(f))["radius_estimation"]
    assert e["feature_net_data"] == "folder:/data/train", e
PY
then ok "--feature-net-data reaches radius_estimation"; else fail "--feature-net-data"; cat "$WORK/err.txt"; fi
expect_error "used only with --lambda-barycenter auto" adapt --from "$A" --data toy:ring8 --space pixels --out "$WORK/x"
expect_error "used only with --radii auto" barycenter --source "$A" --source "$B" --feature-net-data fashion-mnist:train --out "$WORK/x"
run "average" average --generator "$A" --generator "$A" --out "$WORK/avg.coalesce" --quiet
run "info of the average" info "$WORK/avg.coalesce"
# A one-shot run's own config.json (with its recorded provenance) is a valid config: an unfinished
# average folder re-runs from it.
echo "{\"kind\": \"average\", \"generators\": [\"$A\", \"$B\"], \"run_dir\": \"$WORK/avgrun\"}" > "$WORK/avgrun.json"
run "average into a run folder" run "$WORK/avgrun.json" --quiet
grep -q '"provenance"' "$WORK/avgrun/config.json" || fail "the average run recorded no provenance"
rm -f "$WORK/avgrun/summary.json"  # as if killed before it finished
run "re-run an unfinished average from its own config.json" run "$WORK/avgrun/config.json" --resume --quiet

# Black-box sources (TorchScript files run in a worker): after the --source ones, options on each.
if "$CLI" barycenter --source "$A" --black-box "$WORK/box.pt" --latent-dim 16 --black-box-timeout 5 --radius 1 --radius 2 \
     --out "$WORK/bb" --print-config >"$WORK/bb.json" 2>"$WORK/err.txt" && $PY - "$WORK/bb.json" "$A" "$WORK/box.pt" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
assert c["sources"] == [{"generator": sys.argv[2], "radius": 1.0},
                        {"black_box": sys.argv[3], "latent_dim": 16, "timeout_s": 5.0, "radius": 2.0}], c["sources"]
PY
then ok "barycenter --black-box --print-config"; else fail "barycenter --black-box --print-config"; cat "$WORK/err.txt" "$WORK/bb.json"; fi
expect_error "used only with --black-box" barycenter --source "$A" --source "$B" --latent-dim 8 --out "$WORK/x"

# radii: the estimate and the coverage check without training. The local data is source a's own ring8, so
# a is the nearest source; --json carries the numbers a barycenter with --radii auto would record.
if "$CLI" radii --source "$A" --source "$B" --local toy:ring8 --n 32 --bootstrap 20 --power auto --threads 1 --json \
     >"$WORK/radii.json" 2>"$WORK/err.txt"; then
  if $PY - "$WORK/radii.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s, c = r["sources"], r["coverage"]
assert len(s) == 2 and all(x["eta"] > 0 and x["low"] <= x["high"] for x in s), s
assert abs(sum(x["lambda"] for x in s) - 1) < 1e-9, s
assert c["regime"] in ("blend", "nearest", "unclear") and c["gain_low"] <= c["gain_high"], c
assert c["nearest"] == min(range(2), key=lambda k: s[k]["eta"]), (c, s)
assert abs(c["gain"] - (c["nearest_eta"] - c["blend_eta"])) < 1e-9, c
assert r["options"]["power"] == "auto" and r["options"]["k"] == 32, r["options"]
power = 16 if c["regime"] == "nearest" else 1  # "power": "auto"
w = [x["eta"] ** -power for x in s]
assert all(abs(x["lambda"] - wi / sum(w)) < 1e-9 for x, wi in zip(s, w)), (s, power)
PY
  then ok "radii --json: η, λ and the coverage check"; else fail "radii --json wrote:"; cat "$WORK/radii.json"; fi
else
  fail "radii"; cat "$WORK/err.txt"
fi
"$CLI" radii --source "$A" --source "$B" --local toy:ring8 --n 32 --bootstrap 20 --threads 1 >"$WORK/radii.txt" 2>&1 \
  && grep -q "^coverage: " "$WORK/radii.txt" && ok "radii prints the coverage line" || { fail "radii text output"; cat "$WORK/radii.txt"; }
expect_error "--power: expected a number or auto" radii --source "$A" --source "$B" --local toy:ring8 --power sharp
expect_error "bootstrap must be in 0..10000" radii --source "$A" --source "$B" --local toy:ring8 --bootstrap -1
expect_error "missing required option --local" radii --source "$A"

# ternarize --config: a flag changes only its own key of the file's evaluation (the reference stays).
printf '{"evaluation": {"reference": "toy:ring8", "real_samples": 64}}' > "$WORK/tern.json"
if "$CLI" ternarize --config "$WORK/tern.json" --generator "$A" --samples 32 --out "$WORK/tern" --print-config >"$WORK/tern_printed.json" 2>"$WORK/err.txt" &&
   $PY - "$WORK/tern_printed.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))["evaluation"]
assert e == {"reference": "toy:ring8", "real_samples": 32, "fake_samples": 32, "w1_samples": 32}, e
PY
then ok "ternarize --config keeps the file's evaluation, changed by the flags"; else fail "ternarize --config evaluation"; cat "$WORK/err.txt" "$WORK/tern_printed.json"; fi

# Inconsistent flags: specific messages, nothing run.
expect_error "give it once per source" barycenter --source "$A" --source "$B" --radius 1 --out "$WORK/x"
expect_error "--radii auto needs --local" barycenter --source "$A" --source "$B" --radii auto --out "$WORK/x"
expect_error "--radius and --radii auto exclude each other" barycenter --source "$A" --source "$B" --radius 1 --radius 2 --radii auto --local toy:ring8 --out "$WORK/x"
expect_error "--power is used only with --radii auto" barycenter --source "$A" --source "$B" --power 4 --out "$WORK/x"
expect_error "give the source generators" barycenter --out "$WORK/x"
expect_error "unknown mode 'bogus'" barycenter --source "$A" --source "$B" --weights bogus --out "$WORK/x" --print-config
expect_error "expected a number or auto" adapt --from "$A" --data toy:ring8 --lambda-barycenter 1x --out "$WORK/x"
expect_error "missing required option --data" adapt --from "$A" --out "$WORK/x"
expect_error "--resume: " adapt --out "$WORK/nothing-here" --resume
mkdir -p "$WORK/corrupt" && echo '{"kind": "adapt", ' > "$WORK/corrupt/config.json"
expect_error "corrupt/config.json: invalid JSON" adapt --out "$WORK/corrupt" --resume
[ -e "$WORK/x" ] && fail "a refused command created its run directory"
[ "$failures" -eq 0 ] && echo "ok: all stage-command checks passed"
exit "$failures"
