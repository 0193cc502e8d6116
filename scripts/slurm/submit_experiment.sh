#!/usr/bin/env bash
# Submits an experiment to Slurm: an array job of N shards (experiment.sbatch), then the report job
# (report.sbatch) once every shard has ended (afterany: a failed run is shown as failed in the report).
# Usage: scripts/slurm/submit_experiment.sh CONFIG.json N [experiment options, e.g. --out DIR --seeds 3]
# Environment: COALESCE_CLI (default build/app/coalesce-cli, relative to the repository), SBATCH_ARGS
# (more sbatch options, e.g. "--partition=cpu --time=8:00:00"), COALESCE_SLURM_LOGS (default runs/slurm-logs).
# Prints "<array job id> <report job id>".
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 CONFIG.json N [experiment options]" >&2; exit 2; }
CONFIG="$1"; N="$2"; shift 2
[[ "$N" =~ ^[1-9][0-9]*$ ]] || { echo "$0: N must be a positive integer, got '$N'" >&2; exit 2; }
[ -f "$CONFIG" ] || { echo "$0: $CONFIG: no such file" >&2; exit 2; }
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LOGS="${COALESCE_SLURM_LOGS:-$ROOT/runs/slurm-logs}"
mkdir -p "$LOGS"
# shellcheck disable=SC2086 # SBATCH_ARGS is a list of options
array=$(sbatch --parsable ${SBATCH_ARGS:-} --array="0-$((N - 1))" --chdir="$ROOT" --output="$LOGS/%x-%A_%a.out" \
  "$HERE/experiment.sbatch" "$CONFIG" "$@")
array="${array%%;*}"
# shellcheck disable=SC2086
report=$(sbatch --parsable ${SBATCH_ARGS:-} --dependency="afterany:$array" --chdir="$ROOT" --output="$LOGS/%x-%j.out" \
  "$HERE/report.sbatch" "$CONFIG" "$@")
echo "$array ${report%%;*}"
