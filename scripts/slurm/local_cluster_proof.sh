#!/usr/bin/env bash
# Proves scripts/slurm/ on a real Slurm: installs Debian's slurm-wlm and munge when missing, starts a
# one-node cluster on this machine (munged, slurmctld, slurmd in a temporary folder; no systemd, nothing
# in /etc changed), then
#   1. submits samples/toy_experiment.json as an array job of SHARDS shards plus the dependent report
#      job (submit_experiment.sh), waits, and checks that the merged report equals the report of one
#      process running the same plan (every number but wall times);
#   2. runs a 2-D toy pretraining as one data-parallel job of 2 tasks (train.sbatch, srun) and checks
#      it against one process with the same global batch (generated points within 1e-3 after 20
#      iterations at lr 1e-4; Adam turns rounding-level gradients into ±lr steps, so the runs drift
#      apart faster at the toy's default lr 1e-3: bench/README.md).
# Usage (as root, after scripts/setup.sh):  scripts/slurm/local_cluster_proof.sh [--ctest] [SHARDS]   (~30 s)
# Exit status 0 only when both checks pass; the daemons are stopped on exit. With --ctest (the CTest
# test slurm_local_cluster) a machine that cannot host the cluster (not root, packages missing, daemons
# that do not come up) exits 77, "skipped", with the reason; a failed check is still a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
UNAVAILABLE=1
if [ "${1:-}" = "--ctest" ]; then
  # Once, then once more with a fresh cluster: one run in ~6 under a loaded full suite failed for a reason
  # its output did not keep (now it prints the daemons' logs); a real fault fails both attempts.
  shift
  "$0" --ctest-once "$@" && exit 0 || rc=$?
  [ "$rc" = 77 ] && exit 77
  echo "[slurm proof] attempt 1 failed (status $rc); once more with a fresh cluster" >&2
  exec "$0" --ctest-once "$@"
fi
if [ "${1:-}" = "--ctest-once" ]; then UNAVAILABLE=77; shift; fi
SHARDS="${1:-2}"
CLI="${COALESCE_CLI:-$ROOT/build/app/coalesce-cli}"
PY=/usr/bin/python3
unavailable() { echo "[slurm proof] cannot host a cluster here: $*" >&2; exit "$UNAVAILABLE"; }
[ -x "$CLI" ] || { echo "no $CLI: build first (scripts/setup.sh)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || unavailable "run as root (it starts slurmctld, slurmd and munged)"

missing=()
for p in slurm-wlm munge; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  [ "$UNAVAILABLE" = 77 ] && unavailable "packages missing: ${missing[*]} (scripts/setup.sh installs them)"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

WORK="$(mktemp -d /tmp/coalesce-slurm.XXXXXX)"
chmod 755 "$WORK"
mkdir -p "$WORK"/{munge,state,spool,logs}
HOST="$(hostname -s)"
export SLURM_CONF="$WORK/slurm.conf"
stop() {
  scontrol shutdown >/dev/null 2>&1 || true  # slurmctld and slurmd
  for pidfile in "$WORK"/slurmd.pid "$WORK"/slurmctld.pid "$WORK"/munge/munged.pid; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  sleep 1
  for pidfile in "$WORK"/slurmd.pid "$WORK"/slurmctld.pid; do
    [ -f "$pidfile" ] && kill -9 "$(cat "$pidfile")" 2>/dev/null || true
  done
}
diagnose() {  # on a failure: what the daemons and jobs said
  echo "[slurm proof] FAILED; the last lines of the daemons' and jobs' logs:" >&2
  for f in "$WORK"/slurmctld.log "$WORK"/slurmd.log "$WORK"/munge/munged.log "$WORK"/logs/*; do
    [ -f "$f" ] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }
  done
  squeue >&2 2>/dev/null || true
}
trap 'rc=$?; [ $rc -ne 0 ] && [ $rc -ne 77 ] && diagnose; stop' EXIT
say() { echo "[slurm proof] $*"; }

# --- munge: a fresh key and a private socket -------------------------------------------------------
mungekey --create --keyfile="$WORK/munge/munge.key" --force
chmod 600 "$WORK/munge/munge.key"
munged --force --key-file="$WORK/munge/munge.key" --socket="$WORK/munge/munge.socket" \
  --pid-file="$WORK/munge/munged.pid" --log-file="$WORK/munge/munged.log" --seed-file="$WORK/munge/munged.seed"

# --- slurm: one node, this machine ----------------------------------------------------------------
cat >"$SLURM_CONF" <<CONF
ClusterName=coalesce-proof
SlurmctldHost=$HOST
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
AuthInfo=socket=$WORK/munge/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
NodeName=$HOST CPUs=$(nproc --all) State=UNKNOWN
PartitionName=proof Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
slurmctld -i
slurmd
state=""
for _ in $(seq 60); do
  state="$(sinfo -h -o %T 2>/dev/null || true)"
  [[ "$state" == idle* || "$state" == mixed* ]] && break
  sleep 1
done
if [[ "$state" != idle* && "$state" != mixed* ]]; then
  tail -n 5 "$WORK"/slurmctld.log "$WORK"/slurmd.log "$WORK"/munge/munged.log >&2 || true
  unavailable "the node did not become idle within 60 s (state '${state}')"
fi
say "cluster: $(sinfo -h -o '%P %D node(s) %c CPUs %T')"

# Waits until none of the given jobs is queued or running (5 min at most; the whole proof takes ~30 s).
wait_jobs() {
  for _ in $(seq 300); do
    [ -z "$(squeue -h -j "$1" -o %i 2>/dev/null)" ] && return 0
    sleep 1
  done
  echo "FAIL: jobs $1 still queued or running after 5 min:" >&2; squeue >&2; return 1
}

# --- 1. the experiment as an array job + report --------------------------------------------------
export COALESCE_CLI="$CLI" COALESCE_SLURM_LOGS="$WORK/logs"
read -r array report < <(scripts/slurm/submit_experiment.sh samples/toy_experiment.json "$SHARDS" --out "$WORK/sharded")
say "submitted array job $array ($SHARDS shards) and report job $report"
wait_jobs "$array,$report"
say "Slurm logs:"; for f in "$WORK"/logs/*; do echo "--- $(basename "$f")"; tail -n 3 "$f"; done
[ -f "$WORK/sharded/report/summary.json" ] || { echo "FAIL: no merged report in $WORK/sharded/report" >&2; exit 1; }
say "the same plan in one process"
"$CLI" experiment samples/toy_experiment.json --out "$WORK/single" --threads 1 --quiet >/dev/null
$PY - "$WORK/sharded/report/summary.json" "$WORK/single/report/summary.json" "$SHARDS" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
skip = ("second", "wall", "time", "run_dir", "path", "dir", "generated")
def leaves(x, path=""):
    if isinstance(x, dict):
        for k, v in x.items():
            if not any(s in k.lower() for s in skip): yield from leaves(v, path + "/" + k)
    elif isinstance(x, list):
        for i, v in enumerate(x): yield from leaves(v, path + "[%d]" % i)
    elif isinstance(x, str) and ("/tmp/" in x or "coalesce-slurm" in x):
        return
    else:
        yield path, x
la, lb = dict(leaves(a)), dict(leaves(b))
assert la.keys() == lb.keys(), sorted(set(la) ^ set(lb))[:10]
bad = [(k, la[k], lb[k]) for k in la if la[k] != lb[k]]
assert not bad, bad[:10]
runs = a.get("runs", [])
finished = sum(1 for r in runs if r.get("status") == "finished")
assert runs and finished == len(runs), [r.get("status") for r in runs]
print("[slurm proof] merged report of %s shards == one process: %d values compared, %d of %d runs finished"
      % (sys.argv[3], len(la), finished, len(runs)))
PY

# --- 2. one data-parallel training run over 2 Slurm tasks ------------------------------------------
cat >"$WORK/toy_pretrain.json" <<JSON
{"kind": "pretrain", "data": "toy:ring8", "arch": {"family": "mlp2d"}, "iterations": 20, "batch_size": 64,
 "lr": 1e-4, "sample_every": 0, "checkpoint_every": 10}
JSON
job=$(sbatch --parsable --ntasks=2 --cpus-per-task=1 --overcommit --chdir="$ROOT" --output="$WORK/logs/train-%j.out" \
  scripts/slurm/train.sbatch "$WORK/toy_pretrain.json" --run-dir "$WORK/dp2")
say "submitted data-parallel job $job (2 tasks)"
wait_jobs "$job"
tail -n 5 "$WORK/logs/train-$job.out" || true
"$CLI" run "$WORK/toy_pretrain.json" --run-dir "$WORK/dp1" --threads 1 --quiet >/dev/null
"$CLI" sample --generator "$WORK/dp1/generator.coalesce" --n 256 --seed 3 --out "$WORK/dp1.csv" --quiet >/dev/null
"$CLI" sample --generator "$WORK/dp2/generator.coalesce" --n 256 --seed 3 --out "$WORK/dp2.csv" --quiet >/dev/null
$PY - "$WORK/dp1.csv" "$WORK/dp2.csv" "$WORK/dp2/config.json" <<'PY'
import json, sys
def rows(p):
    return [[float(v) for v in l.split(",")] for l in open(p) if l[0] in "-0123456789"]
a, b = rows(sys.argv[1]), rows(sys.argv[2])
d = max(abs(x - y) for ra, rb in zip(a, b) for x, y in zip(ra, rb))
processes = json.load(open(sys.argv[3]))["recorded"]["processes"]
assert processes == 2, processes
assert len(a) == len(b) == 256 and d < 1e-3, d
print("[slurm proof] 2 Slurm tasks (srun, one data-parallel run) == 1 process: max |diff| %.2e over 256 points" % d)
PY
say "PASSED (work folder $WORK)"
