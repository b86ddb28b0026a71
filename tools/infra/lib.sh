# shellcheck shell=bash disable=SC2034  # variables here are used by the scripts that source it
# Shared helpers for tools/infra/up.sh and tools/infra/down.sh. Sourced, not run.

INFRA_DIR="${AIPLANE_INFRA_DIR:-/var/tmp/aiplane-infra}"
SSHD_PORT="${AIPLANE_SSHD_PORT:-2222}"
ENV_FILE="$INFRA_DIR/env"
ALL_COMPONENTS=(redis slurm sshd)

# Fixed system paths: slurm and munge look for these regardless of our infra dir.
SLURM_CONF_FILE=/etc/slurm/slurm.conf
GRES_CONF_FILE=/etc/slurm/gres.conf
SLURM_RUN_DIR=/run/slurm
MUNGE_RUN_DIR=/run/munge
MUNGE_PIDFILE=$MUNGE_RUN_DIR/munged.pid
FAKEGPU_DIR=/run/fakegpu
SLURMCTLD_PIDFILE=$SLURM_RUN_DIR/slurmctld.pid
SLURMD_PIDFILE=$SLURM_RUN_DIR/slurmd.pid

REDIS_PIDFILE="$INFRA_DIR/redis/redis.pid"
SSHD_PIDFILE="$INFRA_DIR/ssh/sshd.pid"

log() { printf '[infra] %s\n' "$*" >&2; }
die() { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }

# Milliseconds since epoch; used for the timing summary.
now_ms() { date +%s%3N; }

is_root() { [[ $(id -u) -eq 0 ]]; }

need_root() {
  is_root || die "$1 needs root (re-run with sudo)."
}

# Validate component names so a typo fails loudly instead of silently doing nothing.
parse_components() {
  local c
  if [[ $# -eq 0 ]]; then
    COMPONENTS=("${ALL_COMPONENTS[@]}")
    return
  fi
  COMPONENTS=()
  for c in "$@"; do
    case "$c" in
      redis | slurm | sshd) COMPONENTS+=("$c") ;;
      ssh) COMPONENTS+=(sshd) ;;
      munge) COMPONENTS+=(slurm) ;;
      -h | --help) usage; exit 0 ;;
      *) die "unknown component '$c' (expected: ${ALL_COMPONENTS[*]})" ;;
    esac
  done
}

has_component() {
  local want="$1" c
  for c in "${COMPONENTS[@]}"; do
    if [[ "$c" == "$want" ]]; then return 0; fi
  done
  return 1
}

# Packages whose dpkg status is not "installed"; one dpkg-query call keeps the warm path fast.
missing_packages() {
  local pkg status
  while read -r pkg status; do
    [[ "$status" == "ii" ]] || printf '%s\n' "$pkg"
  done < <(
    for pkg in "$@"; do
      # dpkg-query exits non-zero for unknown packages; report those as missing too.
      dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "$pkg" 2>/dev/null || printf '%s xx\n' "$pkg"
    done
  )
}

apt_install_missing() {
  local missing
  mapfile -t missing < <(missing_packages "$@")
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if ! is_root; then
    die "missing Debian packages: ${missing[*]}. Install them as root with:
    apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  fi
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Update only when something is actually missing: the warm path must not touch the network.
  apt-get -o DPkg::Lock::Timeout=120 update -qq >/dev/null || die "apt-get update failed"
  apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
}

# wait_for TIMEOUT_SECONDS DESCRIPTION CMD...: polls CMD every 0.1 s.
wait_for() {
  local timeout="$1" what="$2"
  shift 2
  local deadline=$(($(now_ms) + timeout * 1000))
  until "$@" >/dev/null 2>&1; do
    if (($(now_ms) > deadline)); then
      log "timed out after ${timeout}s waiting for $what"
      return 1
    fi
    sleep 0.1
  done
}

# alive PID: a zombie counts as dead. PID 1 here is not a real init and reaps orphans only every
# couple of seconds, so kill -0 alone would make every stop wait for the reaper.
alive() {
  local st
  kill -0 "$1" 2>/dev/null || return 1
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  st=${st##*) }
  [[ "${st%% *}" != Z ]]
}

# pid_from_file FILE: prints the pid if FILE names a live process.
pid_from_file() {
  local file="$1" pid
  [[ -r "$file" ]] || return 1
  read -r pid <"$file" 2>/dev/null || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  printf '%s\n' "$pid"
}

# running PIDFILE COMM: the pid file names a live process whose command name is COMM.
# Checking the name guards against a stale pid file whose pid was reused by something else.
running() {
  local pid comm
  pid=$(pid_from_file "$1") || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ "$comm" == "$2" ]]
}

# stop_pidfile NAME PIDFILE COMM: TERM, wait up to 10 s, then KILL.
stop_pidfile() {
  local name="$1" file="$2" comm="$3" pid i t0
  t0=$(now_ms)
  if ! running "$file" "$comm"; then
    rm -f "$file"
    return 0
  fi
  pid=$(pid_from_file "$file")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 200; i++)); do
    alive "$pid" || break
    sleep 0.05
  done
  if alive "$pid"; then
    log "$name (pid $pid) ignored TERM for 10s, sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$file"
  log "stopped $name (pid $pid) in $(($(now_ms) - t0)) ms"
}

# tcp_open PORT: something accepts connections on 127.0.0.1:PORT.
tcp_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Keys that each component contributes to the env file.
component_keys() {
  case "$1" in
    redis) echo REDIS_URL ;;
    sshd) echo SSH_HOST SSH_PORT SSH_USER SSH_KEY_PATH SSH_KNOWN_HOSTS_PATH ;;
    slurm) echo SLURM_PARTITION ;;
  esac
}

# env_update REMOVE_KEYS... -- NEW_LINES...: rewrites the env file atomically, keeping lines of
# other components so `up.sh redis` after `up.sh` does not lose the ssh keys.
env_update() {
  local -a remove=() add=()
  while [[ $# -gt 0 && "$1" != "--" ]]; do remove+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  add=("$@")
  mkdir -p "$INFRA_DIR"
  local tmp="$ENV_FILE.tmp.$$" line key k keep
  (umask 077 && : >"$tmp")
  if [[ -f "$ENV_FILE" ]]; then
    while IFS= read -r line || [[ -n "$line" ]]; do
      key="${line%%=*}"
      keep=1
      for k in "${remove[@]}"; do
        if [[ "$key" == "$k" ]]; then keep=0; fi
      done
      if ((keep)); then printf '%s\n' "$line" >>"$tmp"; fi
    done <"$ENV_FILE"
  fi
  for line in "${add[@]}"; do printf '%s\n' "$line" >>"$tmp"; done
  # It holds the Redis password.
  chmod 600 "$tmp"
  mv -f "$tmp" "$ENV_FILE"
}
