#!/usr/bin/env bash
# The coverage check (engine/train/radius_estimation.h, CoverageCheck) on every protocol's local samples:
# for each protocol, n and seed, exactly the n local samples its experiment adapts to (k-shot subset of
# the TRAINING split drawn with k_seed = seed), the shipped sources, the FID feature space, 500 samples
# per source, 100 bootstrap resamples, seed 0 — the defaults an experiment's "radii": "auto" uses, so
# the figures equal what its stage-1 runs record. No test image is read: the regime it reports is
# known before any adaptation and can choose settings honestly.
#   samples/tuning/coverage_regimes.sh > table.md      (env: CLI=build/app/coalesce-cli THREADS=1)
set -euo pipefail
cd "$(dirname "$0")/../.."
CLI="${CLI:-build/app/coalesce-cli}"
THREADS="${THREADS:-1}"
M=samples/models
protocol() {  # name sources(a,b) target shots...
  local name="$1" a="$2" b="$3" target="$4"; shift 4
  for n in "$@"; do
    for seed in 1 2 3; do
      "$CLI" radii --source "$M/$a/generator.coalesce" --source "$M/$b/generator.coalesce" --local "$target" \
        --n "$n" --k-seed "$seed" --threads "$THREADS" --json |
        python3 -c '
import json, sys
r = json.load(sys.stdin); c = r["coverage"]; s = r["sources"]
print("| %s | %s | %s | %.1f / %.1f | %.1f | %.1f | %+.2f [%+.2f, %+.2f] | %s |" % (sys.argv[1], sys.argv[2], sys.argv[3],
      s[0]["eta"], s[1]["eta"], c["nearest_eta"], c["blend_eta"], c["gain"], c["gain_low"], c["gain_high"], c["regime"]))
' "$name" "$n" "$seed"
    done
  done
}
echo "| protocol | n | seed | η_a / η_b | W1 to nearest | W1 to blend | gain [90% interval] | regime |"
echo "|---|---|---|---|---|---|---|---|"
protocol overlapping source_01234 source_56789 fashion-mnist:train 20 100
protocol split source_split50 source_split40 split:50,40,10:2:1:fashion-mnist:train 20
protocol disjoint source_0123 source_4567 fashion-mnist:train:8,9 8 20 100
