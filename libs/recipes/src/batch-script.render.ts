import type { EffectiveConfig } from './config.merge';
import { RenderError } from './recipe.errors';
import {
  API_KEY_VARIABLE,
  DEFAULT_FRONT_MAX_CONNECTIONS,
  HOST_VARIABLE,
  JOB_DIR_PATTERN,
  JOB_NAME_PATTERN,
  MEMORY_PATTERN,
  MODULE_PATTERN,
  PORT_VARIABLE,
  REPLICA_KEYS_VARIABLE,
  RESOURCE_LIMITS,
  SLURM_NAME_FIELDS,
  SLURM_NAME_PATTERN,
  integerProblem,
} from './recipe.rules';
import type { Recipe } from './recipe.schema';
import { shellQuote } from './shell-quote.util';

export type RenderProfile = 'cluster' | 'local';

export interface RenderInput {
  recipe: Recipe;
  config: EffectiveConfig;
  /** cluster: Apptainer and the recipe's image; local: the simulators shipped in this repository. */
  profile: RenderProfile;
  jobName: string;
  /** Absolute; holds stdout.log, stderr.log, endpoint and exit_code. Must exist before submission. */
  jobDir: string;
  /** Replaces the recipe's `module load` list (cluster profile only). */
  modules?: string[];
  /** Replica groups submit one job per node; this is that job's node, from 0. */
  nodeIndex?: number;
}

/** Replicas one node job of a group runs: gpu ÷ gpu_per_replica (1 for a single service). */
export function replicasPerNode(config: EffectiveConfig): number {
  return config.gpu_per_replica === undefined ? 1 : config.resources.gpu / config.gpu_per_replica;
}

/** SLURM's --time value: `HH:MM:00`, or `D-HH:MM:00` from one day on. */
export function toSlurmTime(minutes: number): string {
  if (!Number.isSafeInteger(minutes) || minutes < 1) {
    throw new RenderError(`a time limit must be a positive whole number of minutes, got ${minutes}`);
  }
  const days = Math.floor(minutes / 1440);
  const clock = `${pad(Math.floor((minutes % 1440) / 60))}:${pad(minutes % 60)}:00`;
  return days > 0 ? `${days}-${clock}` : clock;
}

/**
 * The batch script for one service. Pure and deterministic. It holds no user-supplied value: those
 * reach the job only through the process environment the worker hands to sbatch (or bash), and
 * recipe commands read them as quoted "$VAR". Everything written here is validated or quoted.
 */
export function renderBatchScript(input: RenderInput): string {
  const { recipe, config, profile } = input;
  checkInput(input);
  const modules = input.modules ?? recipe.runtime.cluster.modules;
  for (const module of modules) {
    if (!MODULE_PATTERN.test(module))
      throw new RenderError(`module name ${JSON.stringify(module)} is not valid`);
  }

  const grouped = config.gpu_per_replica !== undefined;
  const nodeIndex = input.nodeIndex ?? 0;
  if (!Number.isSafeInteger(nodeIndex) || nodeIndex < 0)
    throw new RenderError('nodeIndex must be a whole number');
  const sections = [
    [
      '#!/bin/bash',
      ...sbatchDirectives(input),
      // Before the first command, so shellcheck reads it for the whole script (a comment, so sbatch
      // still reads every #SBATCH line above).
      '# shellcheck disable=SC2317 # trap handlers and the recipe functions are called indirectly',
      'set -euo pipefail',
    ].join('\n'),
    [
      `# ${recipe.path} ${recipe.version}, ${profile} profile, rendered by @aiplane/recipes.`,
      '# No user-supplied value is written here: those reach the job only through its environment.',
      `export AIPLANE_JOB_DIR=${shellQuote(input.jobDir)}`,
      `export AIPLANE_BASE_PORT=${recipe.ports.base}`,
      `export AIPLANE_GPUS=${config.resources.gpu}`,
      '# The address the front binds: every port is tested free on each interface it covers.',
      `AIPLANE_BIND_HOST="\${${HOST_VARIABLE[recipe.kind]}:-0.0.0.0}"`,
      `export AUTH_FRONT_MAX_CONNECTIONS="\${AUTH_FRONT_MAX_CONNECTIONS:-${DEFAULT_FRONT_MAX_CONNECTIONS}}"`,
      ...(grouped
        ? [
            `export AIPLANE_REPLICAS=${replicasPerNode(config)}`,
            `export AIPLANE_GPU_PER_REPLICA=${config.gpu_per_replica}`,
            `export AIPLANE_NODE_INDEX=${nodeIndex}`,
          ]
        : []),
    ].join('\n'),
    JOB_LIFECYCLE,
    PORT_AND_ENDPOINT,
    ...(grouped ? [] : [startInstance(recipe)]),
    ...(profile === 'cluster' ? [clusterRuntime(modules, recipe.runtime.cluster.image)] : []),
    grouped
      ? runReplicas(recipe, recipe.runtime[profile].command)
      : runWorkload(recipe.runtime[profile].command),
  ];
  return `${sections.join('\n\n')}\n`;
}

function sbatchDirectives({ config, jobName, jobDir }: RenderInput): string[] {
  const { resources } = config;
  const lines = [
    `--job-name=${jobName}`,
    `--output=${jobDir}/stdout.log`,
    `--error=${jobDir}/stderr.log`,
    // A replica group is one job per node, so each of its jobs asks for one node.
    `--nodes=${config.gpu_per_replica === undefined ? resources.nodes : 1}`,
    '--ntasks-per-node=1',
    `--cpus-per-task=${resources.cpu}`,
    `--mem=${resources.memory}`,
    `--time=${toSlurmTime(resources.time_limit)}`,
  ];
  if (resources.gpu > 0) lines.push(`--gres=gpu:${resources.gpu}`);
  for (const field of SLURM_NAME_FIELDS) {
    const value = resources[field];
    if (value !== undefined) lines.push(`--${field}=${value}`);
  }
  return lines.map((line) => `#SBATCH ${line}`);
}

// Nothing in an #SBATCH line is quoted, so everything that goes there is held to a safe alphabet.
function checkInput({ config, jobName, jobDir }: RenderInput): void {
  if (!JOB_NAME_PATTERN.test(jobName)) {
    throw new RenderError(
      `jobName must be 1-128 characters from A-Z a-z 0-9 _ . -, got ${JSON.stringify(jobName)}`,
    );
  }
  if (!JOB_DIR_PATTERN.test(jobDir)) {
    throw new RenderError(
      `jobDir must be an absolute path of A-Z a-z 0-9 _ . / - only, got ${JSON.stringify(jobDir)}`,
    );
  }
  const { resources } = config;
  for (const field of ['nodes', 'cpu', 'gpu', 'time_limit'] as const) {
    const problem = integerProblem(`resources.${field}`, resources[field], RESOURCE_LIMITS[field]);
    if (problem !== undefined) throw new RenderError(problem);
  }
  if (!MEMORY_PATTERN.test(resources.memory)) {
    throw new RenderError(`resources.memory must look like "64G", got ${JSON.stringify(resources.memory)}`);
  }
  for (const field of SLURM_NAME_FIELDS) {
    const value = resources[field];
    if (value !== undefined && !SLURM_NAME_PATTERN.test(value)) {
      throw new RenderError(`resources.${field} is not a valid SLURM name: ${JSON.stringify(value)}`);
    }
  }
}

const JOB_LIFECYCLE = `# Every process the job starts inherits this marker, so the job finds all of them at its end, even
# those reparented to init (a double fork, a supervisor killed first) that SLURM's
# proctrack/linuxproc, which follows parent links, and the local executor never see again. The
# script runs itself again (exec: the same pid) with the marker in its environment from the start,
# because /proc shows a process's environment as it was at exec: a subshell forked from a script
# that only exported it would not show it.
if [ "\${AIPLANE_JOB_PID:-}" != "$$" ]; then
  export AIPLANE_JOB_PID="$$"
  # Read from a pipe, there is no file to run again: its exec'd children still carry the marker.
  if [ -f "$0" ]; then exec "$BASH" "$0" "$@"; fi
fi
# Seconds what the job leaves gets between SIGTERM and SIGKILL; below SLURM's KillWait (30 s by
# default), so the script finishes its own cleanup before SLURM kills it.
case \${AIPLANE_KILL_GRACE:-} in '' | 0?* | *[!0-9]*) AIPLANE_KILL_GRACE=10 ;; esac

# The live processes carrying this job's marker, the script itself left out. A pid listed by a
# process that has ended since (grep itself) no longer has a /proc entry. The marker is the
# script's pid, which no other live job's script has, so another job's processes never match.
aiplane_marked_pids() {
  local files file pid
  # Read whole before the loop: grep must have ended (and been reaped) before /proc is checked.
  files=$(grep -lzxF -e "AIPLANE_JOB_PID=$AIPLANE_JOB_PID" /proc/[0-9]*/environ 2>/dev/null) || true
  for file in $files; do
    pid=\${file#/proc/}
    pid=\${pid%/environ}
    if [ "$pid" != "$$" ] && [ "$pid" != "$BASHPID" ] && [ -d "/proc/$pid" ]; then
      printf '%s\\n' "$pid"
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
      if [ -z "\${termed[$pid]:-}" ]; then
        termed[$pid]=1
        kill -TERM "$pid" 2>/dev/null || true
      fi
    done
    sleep 0.1
  done
  printf 'aiplane: SIGKILL to what outlived SIGTERM by %s s: pids %s\\n' "$AIPLANE_KILL_GRACE" "\${pids//$'\\n'/ }" >&2
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
  printf '%s\\n' "$code" >"$AIPLANE_JOB_DIR/exit_code.tmp" &&
    mv -f "$AIPLANE_JOB_DIR/exit_code.tmp" "$AIPLANE_JOB_DIR/exit_code"
}
trap aiplane_on_exit EXIT

# scancel and the local runner stop a job with SIGTERM; the exit trap stops the workloads.
aiplane_workload_pids=()
aiplane_on_stop() {
  exit 143
}
trap aiplane_on_stop TERM INT`;

// Replica groups will call these once per replica; keep every port and endpoint rule here.
const PORT_AND_ENDPOINT = `# First port at or above $1 that nothing on this node listens on, bounded so a crowded node fails
# fast. The start may come from the user, so it is checked before any arithmetic touches it.
aiplane_free_port() {
  local port=$1 tries=0
  case $port in
    '' | 0* | *[!0-9]*)
      echo 'aiplane: the start port is not a number' >&2
      return 1
      ;;
  esac
  if [ "\${#port}" -gt 5 ] || [ "$port" -gt 65535 ]; then
    echo 'aiplane: the start port is above 65535' >&2
    return 1
  fi
  while [ "$tries" -lt 200 ] && [ "$port" -le 65535 ]; do
    if ! aiplane_port_taken "$port"; then
      printf '%s\\n' "$port"
      return 0
    fi
    port=$((port + 1))
    tries=$((tries + 1))
  done
  printf 'aiplane: no free port among the %s from %s\\n' "$tries" "$1" >&2
  return 1
}

# The addresses a wildcard bind covers: loopback and every address of the node.
aiplane_bind_addresses() {
  # hostname -I prints the addresses as words: split on purpose.
  # shellcheck disable=SC2046
  case $AIPLANE_BIND_HOST in
    '' | 0.0.0.0 | :: | '[::]') printf '%s\\n' 127.0.0.1 $(hostname -I 2>/dev/null) ;;
    *) printf '%s\\n' "$AIPLANE_BIND_HOST" ;;
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
  for dir in "\${XDG_RUNTIME_DIR:-}" "/tmp/aiplane-$uid"; do
    [ -n "$dir" ] || continue
    [ -e "$dir" ] || mkdir -m 0700 -- "$dir" 2>/dev/null || continue
    # Not a symlink, ours, and nobody else may write in it.
    if [ -d "$dir" ] && [ ! -L "$dir" ] && [ "$(stat -c %u -- "$dir")" = "$uid" ] &&
      [ "$(( 0$(stat -c %a -- "$dir") & 022 ))" -eq 0 ]; then
      printf '%s\\n' "$dir"
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
  local host="\${AIPLANE_ENDPOINT_HOST:-$(hostname)}" file="$AIPLANE_JOB_DIR/endpoint\${2:+.$2}"
  printf 'http://%s:%s' "$host" "$1" >"$file.tmp"
  mv -f "$file.tmp" "$file"
}`;

function startInstance(recipe: Recipe): string {
  const portVariable = PORT_VARIABLE[recipe.kind];
  return [
    'aiplane_lock_ports',
    `AIPLANE_PORT=$(aiplane_free_port "\${${portVariable}:-$AIPLANE_BASE_PORT}")`,
    'export AIPLANE_PORT',
    `export ${portVariable}="$AIPLANE_PORT"`,
    'aiplane_publish_endpoint "$AIPLANE_PORT"',
    `printf 'aiplane: starting %s as job %s on %s, port %s\\n' ${shellQuote(recipe.path)} "\${SLURM_JOB_ID:-local}" "$(hostname)" "$AIPLANE_PORT"`,
  ].join('\n');
}

function clusterRuntime(modules: readonly string[], image: string): string {
  const lines: string[] = [];
  if (modules.length > 0) {
    lines.push(
      '# Batch shells are not login shells, so `module` may be missing; site profile scripts and',
      "# Lmod's generated code are not written for `set -eu`.",
      'set +eu',
      '# shellcheck source=/dev/null',
      'if ! type module >/dev/null 2>&1; then . /etc/profile >/dev/null 2>&1; fi',
      'set -e',
      ...modules.map((module) => `module load ${module}`),
      'set -u',
    );
  }
  lines.push(`export AIPLANE_IMAGE=${shellQuote(image)}`);
  return lines.join('\n');
}

function runWorkload(command: string): string {
  return [
    '# The workload runs as a child so that the traps above still fire when it ends or is stopped,',
    '# even when the recipe command execs.',
    'aiplane_workload() {',
    command.trimEnd(),
    '}',
    // fd 8 is the port lock: the workload must not hold it.
    'aiplane_workload 8>&- &',
    'aiplane_workload_pids=($!)',
    'aiplane_await_listen "$AIPLANE_PORT" "${aiplane_workload_pids[0]}"',
    'aiplane_unlock_ports',
    'wait "${aiplane_workload_pids[0]}"',
  ].join('\n');
}

/**
 * A replica group's node job: AIPLANE_REPLICAS copies of the workload, each on its own slice of
 * the job's GPUs and its own port (base + i when free, never one an earlier replica took), each
 * publishing endpoint.<i> and logging to replica-<i>.log. The job lives while any replica does, so
 * one replica failing leaves the others serving.
 */
function runReplicas(recipe: Recipe, command: string): string {
  const portVariable = PORT_VARIABLE[recipe.kind];
  return [
    'aiplane_workload() {',
    command.trimEnd(),
    '}',
    '',
    "# The job's GPUs as the scheduler exposes them to it; without a scheduler list, 0..gpu-1.",
    'aiplane_gpu_list=()',
    'if [ -n "${SLURM_JOB_GPUS:-}" ] && [ -n "${CUDA_VISIBLE_DEVICES:-}" ]; then',
    '  IFS=, read -r -a aiplane_gpu_list <<<"$CUDA_VISIBLE_DEVICES"',
    'else',
    '  for ((aiplane_g = 0; aiplane_g < AIPLANE_GPUS; aiplane_g++)); do aiplane_gpu_list+=("$aiplane_g"); done',
    'fi',
    `# Replica i runs with the i-th key only: a squatted replica's endpoint never earns another's key.`,
    `: "\${${REPLICA_KEYS_VARIABLE}:?is set by aiplane, one key per replica}"`,
    `IFS=, read -r -a aiplane_replica_keys <<<"$${REPLICA_KEYS_VARIABLE}"`,
    `unset ${REPLICA_KEYS_VARIABLE}`,
    'if [ "${#aiplane_replica_keys[@]}" -ne "$AIPLANE_REPLICAS" ]; then',
    `  echo 'aiplane: ${REPLICA_KEYS_VARIABLE} does not hold one key per replica' >&2`,
    '  exit 2',
    'fi',
    'aiplane_lock_ports',
    `aiplane_port=$(aiplane_free_port "\${${portVariable}:-$AIPLANE_BASE_PORT}")`,
    'for ((aiplane_r = 0; aiplane_r < AIPLANE_REPLICAS; aiplane_r++)); do',
    '  if [ "$aiplane_r" -gt 0 ]; then aiplane_port=$(aiplane_free_port "$((aiplane_port + 1))"); fi',
    '  aiplane_slice=("${aiplane_gpu_list[@]:$((aiplane_r * AIPLANE_GPU_PER_REPLICA)):AIPLANE_GPU_PER_REPLICA}")',
    '  aiplane_gpus=$(IFS=,; printf %s "${aiplane_slice[*]}")',
    '  aiplane_publish_endpoint "$aiplane_port" "$aiplane_r"',
    `  printf 'aiplane: starting %s replica %s/%s as job %s on %s, port %s, GPUs %s\\n' ${shellQuote(recipe.path)} "$aiplane_r" "$AIPLANE_REPLICAS" "\${SLURM_JOB_ID:-local}" "$(hostname)" "$aiplane_port" "$aiplane_gpus"`,
    '  (',
    `    export AIPLANE_REPLICA_INDEX="$aiplane_r" AIPLANE_PORT="$aiplane_port" ${portVariable}="$aiplane_port"`,
    `    export ${API_KEY_VARIABLE[recipe.kind]}="\${aiplane_replica_keys[$aiplane_r]}"`,
    '    export CUDA_VISIBLE_DEVICES="$aiplane_gpus"',
    '    aiplane_workload',
    '  ) >"$AIPLANE_JOB_DIR/replica-$aiplane_r.log" 2>&1 8>&- &',
    '  aiplane_workload_pids+=($!)',
    '  aiplane_await_listen "$aiplane_port" "$!"',
    'done',
    'aiplane_unlock_ports',
    "# As each replica ends, its endpoint file goes, and the worker clears the record's endpoint: a",
    "# dead replica's port may be taken by anyone next. wait -n (bash 4.3+) returns as any one ends.",
    'aiplane_status=0',
    'aiplane_left=${#aiplane_workload_pids[@]}',
    'while [ "$aiplane_left" -gt 0 ]; do',
    '  aiplane_code=0',
    '  wait -n || aiplane_code=$?',
    '  if [ "$aiplane_code" -ne 0 ]; then aiplane_status=$aiplane_code; fi',
    '  aiplane_left=0',
    '  for ((aiplane_r = 0; aiplane_r < ${#aiplane_workload_pids[@]}; aiplane_r++)); do',
    '    if kill -0 "${aiplane_workload_pids[$aiplane_r]}" 2>/dev/null; then',
    '      aiplane_left=$((aiplane_left + 1))',
    '    else',
    '      rm -f -- "$AIPLANE_JOB_DIR/endpoint.$aiplane_r"',
    '    fi',
    '  done',
    'done',
    'exit "$aiplane_status"',
  ].join('\n');
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
