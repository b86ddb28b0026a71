#!/bin/bash
#SBATCH --job-name=aiplane-sub-0001
#SBATCH --output=/scratch/aiplane/jobs/sub-0001/stdout.log
#SBATCH --error=/scratch/aiplane/jobs/sub-0001/stderr.log
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=4
#SBATCH --mem=16G
#SBATCH --time=01:00:00
set -euo pipefail

# vector-db/qdrant 1.0.0, cluster profile, rendered by @aiplane/recipes.
# No user-supplied value is written here: those reach the job only through its environment.
export AIPLANE_JOB_DIR='/scratch/aiplane/jobs/sub-0001'
export AIPLANE_BASE_PORT=6333
export AIPLANE_GPUS=0

# exit_code tells the worker how the workload ended, whoever ended it.
aiplane_on_exit() {
  local code=$?
  printf '%s\n' "$code" >"$AIPLANE_JOB_DIR/exit_code.tmp" &&
    mv -f "$AIPLANE_JOB_DIR/exit_code.tmp" "$AIPLANE_JOB_DIR/exit_code"
}
trap aiplane_on_exit EXIT

# scancel and the local runner stop a job with SIGTERM: pass it on so the workloads can shut down.
aiplane_workload_pids=()
aiplane_on_stop() {
  trap - TERM INT
  local pid
  for pid in "${aiplane_workload_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${aiplane_workload_pids[@]}"; do wait "$pid" || true; done
  exit 143
}
trap aiplane_on_stop TERM INT

# First port at or above $1 that nothing on this node listens on, bounded so a crowded node fails
# fast. The start may come from the user, so it is checked before any arithmetic touches it.
aiplane_free_port() {
  local port=$1 tries=0
  case $port in
    '' | 0* | *[!0-9]*)
      echo 'aiplane: the start port is not a number' >&2
      return 1
      ;;
  esac
  if [ "${#port}" -gt 5 ] || [ "$port" -gt 65535 ]; then
    echo 'aiplane: the start port is above 65535' >&2
    return 1
  fi
  while [ "$tries" -lt 200 ] && [ "$port" -le 65535 ]; do
    if ! (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      printf '%s\n' "$port"
      return 0
    fi
    port=$((port + 1))
    tries=$((tries + 1))
  done
  printf 'aiplane: no free port among the %s from %s\n' "$tries" "$1" >&2
  return 1
}

# Choosing a free port and the workload binding it are two steps, and jobs start together on one
# node (a cancelled job's GPUs go straight to the next one, a CPU job starts beside a GPU one): both
# could choose the same port in between. A node-wide lock spans the choice and the bind. A workload
# slow to listen is waited for only so long, and a node where the lock cannot be had runs without.
aiplane_lock_ports() {
  local lock=/tmp/aiplane-ports.lock
  command -v flock >/dev/null 2>&1 || return 0
  { : >>"$lock"; } 2>/dev/null || return 0
  chmod 0666 "$lock" 2>/dev/null || true
  exec 8>>"$lock"
  flock -w 20 8 || true
}
aiplane_unlock_ports() {
  { flock -u 8 && exec 8>&-; } 2>/dev/null || true
}
# Until something listens on port $1 (at most 10 s): the next choice on this node then sees it taken.
aiplane_await_listen() {
  local i
  for ((i = 0; i < 200; i++)); do
    if (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
}

# Written whole (tmp + mv) so the worker never reads half a URL. $2, a replica's index, names its file.
aiplane_publish_endpoint() {
  local host="${AIPLANE_ENDPOINT_HOST:-$(hostname)}" file="$AIPLANE_JOB_DIR/endpoint${2:+.$2}"
  printf 'http://%s:%s' "$host" "$1" >"$file.tmp"
  mv -f "$file.tmp" "$file"
}

aiplane_lock_ports
AIPLANE_PORT=$(aiplane_free_port "${QDRANT__SERVICE__HTTP_PORT:-$AIPLANE_BASE_PORT}")
export AIPLANE_PORT
export QDRANT__SERVICE__HTTP_PORT="$AIPLANE_PORT"
aiplane_publish_endpoint "$AIPLANE_PORT"
printf 'aiplane: starting %s as job %s on %s, port %s\n' 'vector-db/qdrant' "${SLURM_JOB_ID:-local}" "$(hostname)" "$AIPLANE_PORT"

# Batch shells are not login shells, so `module` may be missing; site profile scripts and
# Lmod's generated code are not written for `set -eu`.
set +eu
if ! type module >/dev/null 2>&1; then . /etc/profile >/dev/null 2>&1; fi
set -e
module load Apptainer
set -u
export AIPLANE_IMAGE='docker://qdrant/qdrant:v1.18.2'

# The workload runs as a child so that the traps above still fire when it ends or is stopped,
# even when the recipe command execs.
aiplane_workload() {
# The worker sets a per-job QDRANT__SERVICE__API_KEY; Qdrant must never listen without one,
# since other users of the cluster can reach this node. Qdrant reads it from its environment.
# Unlike vLLM's, Qdrant's key guards every route but the health probes (/, /healthz, /livez,
# /readyz), so Qdrant needs no auth_front.py in front of it.
: "${QDRANT__SERVICE__API_KEY:?is set by aiplane; refusing to start Qdrant without an API key}"
QDRANT__SERVICE__GRPC_PORT=$(aiplane_free_port "${QDRANT__SERVICE__GRPC_PORT:-$((AIPLANE_PORT + 1))}")
export QDRANT__SERVICE__GRPC_PORT
export QDRANT__STORAGE__STORAGE_PATH="${QDRANT__STORAGE__STORAGE_PATH:-$AIPLANE_JOB_DIR/qdrant/storage}"
export QDRANT__STORAGE__SNAPSHOTS_PATH="${QDRANT__STORAGE__SNAPSHOTS_PATH:-$AIPLANE_JOB_DIR/qdrant/snapshots}"
mkdir -p -- "$QDRANT__STORAGE__STORAGE_PATH" "$QDRANT__STORAGE__SNAPSHOTS_PATH"
# Apptainer hands the job's environment to the container (no --cleanenv, keep it so): that is
# how the QDRANT__* settings, the API key among them, reach Qdrant.
# The image is read-only; --writable-tmpfs lets Qdrant write its small state files next to
# its bundled config in /qdrant, while the data goes to the bound job directory.
exec apptainer exec --bind "$AIPLANE_JOB_DIR" --writable-tmpfs --pwd /qdrant "$AIPLANE_IMAGE" /qdrant/qdrant
}
aiplane_workload 8>&- &
aiplane_workload_pids=($!)
aiplane_await_listen "$AIPLANE_PORT"
aiplane_unlock_ports
wait "$aiplane_workload_pids"
