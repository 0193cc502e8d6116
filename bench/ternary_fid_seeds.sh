#!/usr/bin/env bash
# Float vs ternary generators scored over several evaluation seeds, so that a FID ratio can be told
# apart from the noise of one 500-sample evaluation. Every generator is evaluated with the same
# protocol (N real held-out images of classes 8,9 vs N generated, feature net as in the experiment) and
# the same evaluation seeds; the table gives FID mean ± std over the seeds and the ratio of means to the
# first (float) generator.
#   bench/ternary_fid_seeds.sh OUT.md LABEL=FILE [LABEL=FILE ...]
# Environment: SEEDS (default "1 2 3 4 5"), SAMPLES (default 1000), REFERENCE (fashion-mnist:test:8,9),
# THREADS (default 1), COALESCE_CLI (build/app/coalesce-cli). FILE is any generator file (.ctern too).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n 2,10p "$0"; exit 2; }
OUT="$1"; shift
CLI="${COALESCE_CLI:-build/app/coalesce-cli}"
SEEDS="${SEEDS:-1 2 3 4 5}"
SAMPLES="${SAMPLES:-1000}"
REFERENCE="${REFERENCE:-fashion-mnist:test:8,9}"
THREADS="${THREADS:-1}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

labels=()
for pair in "$@"; do
  label="${pair%%=*}"; file="${pair#*=}"
  [ -f "$file" ] || { echo "ternary_fid_seeds: $file does not exist" >&2; exit 1; }
  labels+=("$label")
  for seed in $SEEDS; do
    "$CLI" evaluate --generator "$file" --reference "$REFERENCE" --samples "$SAMPLES" --seed "$seed" \
      --threads "$THREADS" --quiet --out "$WORK/${#labels[@]}_$seed.json" >/dev/null
    echo "[fid-seeds] $label seed $seed done" >&2
  done
done

python3 - "$WORK" "$OUT" "$SAMPLES" "$REFERENCE" "$SEEDS" "$@" <<'EOF'
import json, statistics, sys
work, out, samples, reference, seeds = sys.argv[1:6]
pairs = sys.argv[6:]
seeds = seeds.split()
rows = []
for i, pair in enumerate(pairs, start=1):
    label, path = pair.split("=", 1)
    fids = [json.load(open(f"{work}/{i}_{s}.json"))["metrics"]["fid"] for s in seeds]
    kids = [json.load(open(f"{work}/{i}_{s}.json"))["metrics"]["kid"] for s in seeds]
    rows.append((label, path, fids, kids))
base = statistics.mean(rows[0][2])
lines = [f"FID over evaluation seeds {', '.join(seeds)} ({samples} real {reference} vs {samples} generated each).",
         f"Ratio = mean FID / mean FID of `{rows[0][0]}`; per-seed ratio range in brackets.", "",
         "| generator | file | FID mean ± std | ratio [min–max] | KID mean |", "|---|---|---|---|---|"]
for label, path, fids, kids in rows:
    per_seed = [f / b for f, b in zip(fids, rows[0][2])]
    std = statistics.stdev(fids) if len(fids) > 1 else 0.0
    lines.append(f"| {label} | `{path}` | {statistics.mean(fids):.1f} ± {std:.1f} | "
                 f"{statistics.mean(fids) / base:.3f} [{min(per_seed):.3f}–{max(per_seed):.3f}] | {statistics.mean(kids):.1f} |")
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
