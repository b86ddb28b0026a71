#!/bin/bash
#SBATCH --job-name=aiplane-sub-0001
#SBATCH --output=/scratch/aiplane/jobs/sub-0001/stdout.log
#SBATCH --error=/scratch/aiplane/jobs/sub-0001/stderr.log
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=8
#SBATCH --mem=64G
#SBATCH --time=01:00:00
#SBATCH --gres=gpu:4
# shellcheck disable=SC2317 # trap handlers and the recipe functions are called indirectly
set -euo pipefail

# inference/vllm-single-node 1.0.0, local profile, rendered by @aiplane/recipes.
# No user-supplied value is written here: those reach the job only through its environment.
export AIPLANE_JOB_DIR='/scratch/aiplane/jobs/sub-0001'
export AIPLANE_BASE_PORT=8001
export AIPLANE_GPUS=4
# The address the front binds: every port is tested free on each interface it covers.
AIPLANE_BIND_HOST="${VLLM_HOST:-0.0.0.0}"
export AUTH_FRONT_MAX_CONNECTIONS="${AUTH_FRONT_MAX_CONNECTIONS:-512}"

# Every process the job starts inherits this marker, so the job finds all of them at its end, even
# those reparented to init (a double fork, a supervisor killed first) that SLURM's
# proctrack/linuxproc, which follows parent links, and the local executor never see again. The
# script runs itself again (exec: the same pid) with the marker in its environment from the start,
# because /proc shows a process's environment as it was at exec: a subshell forked from a script
# that only exported it would not show it.
if [ "${AIPLANE_JOB_PID:-}" != "$$" ]; then
  export AIPLANE_JOB_PID="$$"
  # Read from a pipe, there is no file to run again: its exec'd children still carry the marker.
  if [ -f "$0" ]; then exec "$BASH" "$0" "$@"; fi
fi
# Seconds what the job leaves gets between SIGTERM and SIGKILL; below SLURM's KillWait (30 s by
# default), so the script finishes its own cleanup before SLURM kills it.
case ${AIPLANE_KILL_GRACE:-} in '' | 0?* | *[!0-9]*) AIPLANE_KILL_GRACE=10 ;; esac

# The live processes carrying this job's marker, the script itself left out. A pid listed by a
# process that has ended since (grep itself) no longer has a /proc entry. The marker is the
# script's pid, which no other live job's script has, so another job's processes never match.
aiplane_marked_pids() {
  local files file pid
  # Read whole before the loop: grep must have ended (and been reaped) before /proc is checked.
  files=$(grep -lzxF -e "AIPLANE_JOB_PID=$AIPLANE_JOB_PID" /proc/[0-9]*/environ 2>/dev/null) || true
  for file in $files; do
    pid=${file#/proc/}
    pid=${pid%/environ}
    if [ "$pid" != "$$" ] && [ "$pid" != "$BASHPID" ] && [ -d "/proc/$pid" ]; then
      printf '%s\n' "$pid"
    fi
  done
}

# SIGTERM to each marked process once, SIGKILL to those left after the grace; returns when none is
# left (or, after SIGKILL, at most 5 s later: a process in uninterruptible sleep is the kernel's).
aiplane_reap() {
  local pid pids i
  local -A termed=()
  for ((i = 0; i <= AIPLANE_KILL_GRACE * 10; i++)); do
    pids=$(aiplane_marked_pids) || pids=
    if [ -z "$pids" ]; then return 0; fi
    for pid in $pids; do
      if [ -z "${termed[$pid]:-}" ]; then
        termed[$pid]=1
        kill -TERM "$pid" 2>/dev/null || true
      fi
    done
    sleep 0.1
  done
  printf 'aiplane: SIGKILL to what outlived SIGTERM by %s s: pids %s\n' "$AIPLANE_KILL_GRACE" "${pids//$'\n'/ }" >&2
  for ((i = 0; i < 50; i++)); do
    for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
    sleep 0.1
    pids=$(aiplane_marked_pids) || pids=
    if [ -z "$pids" ]; then return 0; fi
  done
}

# However the script ends (the workload exits, a failed step, SIGTERM from scancel or the local
# runner), nothing of the job outlives it; then exit_code tells the worker how the workload ended.
aiplane_on_exit() {
  local code=$?
  # A second stop signal must not cut the cleanup short.
  trap '' TERM INT
  aiplane_reap
  printf '%s\n' "$code" >"$AIPLANE_JOB_DIR/exit_code.tmp" &&
    mv -f "$AIPLANE_JOB_DIR/exit_code.tmp" "$AIPLANE_JOB_DIR/exit_code"
}
trap aiplane_on_exit EXIT

# scancel and the local runner stop a job with SIGTERM; the exit trap stops the workloads.
aiplane_workload_pids=()
aiplane_on_stop() {
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
    if ! aiplane_port_taken "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
    port=$((port + 1))
    tries=$((tries + 1))
  done
  printf 'aiplane: no free port among the %s from %s\n' "$tries" "$1" >&2
  return 1
}

# The addresses a wildcard bind covers: loopback and every address of the node.
aiplane_bind_addresses() {
  # hostname -I prints the addresses as words: split on purpose.
  # shellcheck disable=SC2046
  case $AIPLANE_BIND_HOST in
    '' | 0.0.0.0 | :: | '[::]') printf '%s\n' 127.0.0.1 $(hostname -I 2>/dev/null) ;;
    *) printf '%s\n' "$AIPLANE_BIND_HOST" ;;
  esac
}

# Whether anything listens on port $1 on an interface the front binds. Another user listening on
# the node's address alone (not 127.0.0.1) would make the front's bind fail, so ss, which sees every
# user's listening sockets on every interface, decides when it is there; else each address is tried.
aiplane_port_taken() {
  local listeners address
  if listeners=$(ss -Hltn "sport = :$1" 2>/dev/null); then
    [ -n "$listeners" ]
    return
  fi
  for address in $(aiplane_bind_addresses); do
    if (: <"/dev/tcp/$address/$1") 2>/dev/null; then return 0; fi
  done
  return 1
}

# Choosing a free port and the workload binding it are two steps, and jobs start together on one
# node (a cancelled job's GPUs go straight to the next one, a CPU job starts beside a GPU one): both
# could choose the same port in between. A lock spans the choice and the bind. It is the user's own,
# in a directory only the user owns: a lock another user can open, they can hold or replace. Other
# users' jobs are not serialised by it; a port they take first is seen taken on every interface
# (above), and one they take in between makes the front fail to bind, never serve another's key.
# A workload slow to listen is waited for only so long, and a node without a safe lock runs without.
aiplane_lock_dir() {
  local dir uid
  uid=$(id -u)
  for dir in "${XDG_RUNTIME_DIR:-}" "/tmp/aiplane-$uid"; do
    [ -n "$dir" ] || continue
    [ -e "$dir" ] || mkdir -m 0700 -- "$dir" 2>/dev/null || continue
    # Not a symlink, ours, and nobody else may write in it.
    if [ -d "$dir" ] && [ ! -L "$dir" ] && [ "$(stat -c %u -- "$dir")" = "$uid" ] &&
      [ "$(( 0$(stat -c %a -- "$dir") & 022 ))" -eq 0 ]; then
      printf '%s\n' "$dir"
      return 0
    fi
  done
  return 1
}
aiplane_lock_ports() {
  local dir lock
  command -v flock >/dev/null 2>&1 || return 0
  dir=$(aiplane_lock_dir) || return 0
  lock="$dir/aiplane-ports.lock"
  if [ -L "$lock" ]; then return 0; fi
  (umask 077 && : >>"$lock") 2>/dev/null || return 0
  exec 8>>"$lock"
  flock -w 20 8 || true
}
aiplane_unlock_ports() {
  { flock -u 8 && exec 8>&-; } 2>/dev/null || true
}
# Until something listens on port $1 (at most 10 s), or workload $2 has ended: the next choice on
# this node then sees the port taken, and a workload that failed to start fails the job at once.
aiplane_await_listen() {
  local i address=127.0.0.1
  case $AIPLANE_BIND_HOST in '' | 0.0.0.0 | :: | '[::]') ;; *) address=$AIPLANE_BIND_HOST ;; esac
  for ((i = 0; i < 200; i++)); do
    if (: <"/dev/tcp/$address/$1") 2>/dev/null; then return 0; fi
    # bash reaps an ended child at once (keeping its status for wait), so kill -0 misses no zombie.
    if ! kill -0 "$2" 2>/dev/null; then return 0; fi
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
AIPLANE_PORT=$(aiplane_free_port "${VLLM_PORT:-$AIPLANE_BASE_PORT}")
export AIPLANE_PORT
export VLLM_PORT="$AIPLANE_PORT"
aiplane_publish_endpoint "$AIPLANE_PORT"
printf 'aiplane: starting %s as job %s on %s, port %s\n' 'inference/vllm-single-node' "${SLURM_JOB_ID:-local}" "$(hostname)" "$AIPLANE_PORT"

# The workload runs as a child so that the traps above still fire when it ends or is stopped,
# even when the recipe command execs.
aiplane_workload() {
: "${AIPLANE_SIMULATORS_DIR:?is set by the worker for the local profile}"
: "${AIPLANE_RUNTIME_DIR:?is set by the worker}"
: "${VLLM_API_KEY:?is set by aiplane; refusing to start a server without an API key}"
# As on the cluster: the simulator, as open outside /v1 as vLLM is, on a private Unix
# socket, and auth_front.py on the published port.
aiplane_server() {
  VLLM_UDS="$AIPLANE_SOCK" exec node "$AIPLANE_SIMULATORS_DIR/vllm-sim/src/main.js"
}
aiplane_front() {
  exec python3 "$AIPLANE_RUNTIME_DIR/auth_front.py" \
    --listen="$VLLM_HOST:$VLLM_PORT" --upstream-unix="$AIPLANE_SOCK"
}
# shellcheck source=recipes/runtime/behind-front.sh
source "$AIPLANE_RUNTIME_DIR/behind-front.sh"
}
aiplane_workload 8>&- &
aiplane_workload_pids=($!)
aiplane_await_listen "$AIPLANE_PORT" "${aiplane_workload_pids[0]}"
aiplane_unlock_ports
wait "${aiplane_workload_pids[0]}"
