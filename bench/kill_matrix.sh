#!/usr/bin/env bash
# The kill -9 matrix: every job kind that writes files (pretrain, barycenter — joint, and recursive with a run
# folder per stage —, adapt, ternarize, export) is
# killed with SIGKILL at N moments spread over its run (tiny 2-D toy jobs, one thread), then checked:
#   corrupt    a model file in the folder (.coalesce/.ctern, not a temporary) that `info` cannot read
#   dead end   the folder (or output file) can neither be resumed nor re-run to a finished result
#   duplicates (step, name) rows repeated in metrics.csv after the resume
#   leftovers  temporary files (*.tmp-*) still there after the resume
# Run folders resume with `coalesce-cli run DIR/config.json --resume` (what the CLI's --resume does), or,
# killed before config.json existed, are re-run into the same (empty) folder; an export is re-run.
#
#   bench/kill_matrix.sh [N]          (default N = 20 moments per kind; CLI=build/app/coalesce-cli;
#                                      KINDS="ternarize export" for some kinds only)
# Prints one line per kind and a total; exit status 1 if any count is not 0. CTest (cli_kill_matrix) runs N = 2.
set -u
N="${1:-20}"
CLI="${CLI:-build/app/coalesce-cli}"
[ -x "$CLI" ] || { echo "no $CLI (build first, or set CLI=)"; exit 2; }
CLI="$(cd "$(dirname "$CLI")" && pwd)/$(basename "$CLI")"
PY=/usr/bin/python3
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
T=(--threads 1 --quiet)

# Two toy sources every kind starts from.
"$CLI" pretrain --data toy:ring8 --family mlp2d --iterations 40 --sample-every 0 --checkpoint-every 40 --out src_a "${T[@]}" || exit 2
"$CLI" pretrain --data toy:grid25 --family mlp2d --iterations 40 --sample-every 0 --checkpoint-every 40 --out src_b "${T[@]}" || exit 2
"$CLI" pretrain --data toy:ring8 --family mlp2d --iterations 20 --sample-every 0 --checkpoint-every 20 --out src_c "${T[@]}" || exit 2
A="$WORK/src_a/generator.coalesce"; B="$WORK/src_b/generator.coalesce"; C="$WORK/src_c/generator.coalesce"

# The job of each kind, writing into $2 (EXEC=exec: the CLI replaces the calling subshell, so that $! is
# the CLI's own pid and kill -9 hits it, not a shell around it).
job() {
  local kind="$1" out="$2"
  case "$kind" in
    pretrain)   ${EXEC:-} "$CLI" pretrain --data toy:ring8 --family mlp2d --iterations 400 --sample-every 50 --checkpoint-every 20 --out "$out" "${T[@]}" ;;
    barycenter) ${EXEC:-} "$CLI" barycenter --source "$A" --source "$B" --radius 1 --radius 2 --iterations 150 --sample-every 50 \
                  --checkpoint-every 15 --out "$out" "${T[@]}" ;;
    recursive)  ${EXEC:-} "$CLI" barycenter --source "$A" --source "$B" --source "$C" --mode recursive --iterations 80 \
                  --sample-every 20 --checkpoint-every 10 --out "$out" "${T[@]}" ;;
    adapt)      ${EXEC:-} "$CLI" adapt --from "$A" --data toy:ring8 --n 16 --iterations 200 --sample-every 50 --checkpoint-every 20 \
                  --out "$out" "${T[@]}" ;;
    ternarize)  ${EXEC:-} "$CLI" ternarize --generator "$A" --method twn --iterations 150 --data toy:ring8 --k 16 --out "$out" "${T[@]}" ;;
    export)     ${EXEC:-} "$CLI" export --generator "$A" --format torchscript --out "$out" ;;
  esac
}

# Checks a killed output ($1: folder or file, $2: kind); prints "corrupt dead duplicates leftovers".
check() {
  local out="$1" kind="$2" corrupt=0 dead=0 dup=0 left=0
  if [ "$kind" = export ]; then
    # Atomic writes: the file is absent or complete; a re-run always finishes.
    if [ -e "$out" ] && ! "$CLI" info "$out" >/dev/null 2>&1; then corrupt=1; fi
    job export "$out" >/dev/null 2>&1 && "$CLI" info "$out" >/dev/null 2>&1 || dead=1
    ls "$(dirname "$out")" | grep -q "tmp-" && left=1
    echo "$corrupt $dead $dup $left"; return
  fi
  while IFS= read -r f; do
    "$CLI" info "$f" >/dev/null 2>&1 || corrupt=$((corrupt + 1))
  done < <(find "$out" -type f \( -name '*.coalesce' -o -name '*.ctern' \) ! -name '*tmp-*' 2>/dev/null)
  local how="resume"
  if grep -q '"finished"' "$out/summary.json" 2>/dev/null; then
    how="none (it had finished)"; : >"$out.resume.txt"  # a kill after the end: nothing to resume
  elif [ -f "$out/config.json" ]; then
    "$CLI" run "$out/config.json" --resume --quiet >"$out.resume.txt" 2>&1 || dead=1
  else
    how="re-run"; job "$kind" "$out" >"$out.resume.txt" 2>&1 || dead=1
  fi
  [ "$dead" -eq 0 ] && ! grep -q '"finished"' "$out/summary.json" 2>/dev/null && dead=1
  [ "$dead" -eq 0 ] || echo "  $kind dead end after $how: $(ls "$out" 2>/dev/null | tr '\n' ' ')| $(tail -c 300 "$out.resume.txt")" >&2
  if [ -f "$out/metrics.csv" ]; then
    dup=$($PY -c "
import collections, csv, sys
rows = [(r[0], r[1]) for r in csv.reader(open(sys.argv[1])) if r and r[0] != 'step']
print(sum(c - 1 for c in collections.Counter(rows).values() if c > 1))" "$out/metrics.csv")
  fi
  left=$(find "$out" -name '*tmp-*' | wc -l)
  echo "$corrupt $dead $dup $left"
}

total=(0 0 0 0)
for kind in ${KINDS:-pretrain barycenter recursive adapt ternarize export}; do
  # The uninterrupted run's wall time sets the moments: i/(N+1) of it, i = 1..N.
  ref="$WORK/${kind}_ref"; [ "$kind" = export ] && ref="$WORK/${kind}_ref.pt"
  start=$(date +%s.%N); job "$kind" "$ref" >/dev/null 2>&1 || { echo "$kind: the uninterrupted run failed"; exit 2; }
  took=$($PY -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$(date +%s.%N)")
  sums=(0 0 0 0); hits=0
  for i in $(seq "$N"); do
    out="$WORK/${kind}_$i"; [ "$kind" = export ] && out="$WORK/${kind}_$i.pt"
    delay=$($PY -c "import sys; print(float(sys.argv[1]) * int(sys.argv[2]) / (int(sys.argv[3]) + 1))" "$took" "$i" "$N")
    EXEC=exec job "$kind" "$out" >/dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null && hits=$((hits + 1))  # 0 when the job had already ended
    wait "$pid" 2>/dev/null
    read -r c d u l < <(check "$out" "$kind")
    sums=($((sums[0] + c)) $((sums[1] + d)) $((sums[2] + u)) $((sums[3] + l)))
  done
  printf "%-10s %2d kills (%2d while running) over %5.1f s: %d corrupt files, %d dead-end outputs, %d duplicate metric rows, %d leftover temporaries\n" \
    "$kind" "$N" "$hits" "$took" "${sums[@]}"
  for k in 0 1 2 3; do total[$k]=$((total[k] + sums[k])); done
done
echo "total: ${total[0]} corrupt, ${total[1]} dead ends, ${total[2]} duplicate rows, ${total[3]} leftovers"
[ "${total[0]}${total[1]}${total[2]}${total[3]}" = "0000" ]
