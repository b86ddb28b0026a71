#!/usr/bin/env bash
# Stops what tools/infra/up.sh started, by pid file. Installs/uninstalls nothing. Idempotent.
# Usage: tools/infra/down.sh [redis|slurm|sshd ...]   (no argument = all)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<EOF
Usage: $0 [component...]
Components: ${ALL_COMPONENTS[*]} (default: all). Stops the daemons recorded in the pid files
of \$AIPLANE_INFRA_DIR (default /var/tmp/aiplane-infra) and /run/{slurm,munge}.
EOF
}

parse_components "$@"
T0=$(now_ms)
REMOVE=()

add_remove() {
  local keys
  read -ra keys <<<"$(component_keys "$1")"
  REMOVE+=("${keys[@]}")
}

if has_component slurm; then
  # munged last: the slurm daemons still authenticate through it while shutting down.
  stop_pidfile slurmd "$SLURMD_PIDFILE" slurmd
  stop_pidfile slurmctld "$SLURMCTLD_PIDFILE" slurmctld
  stop_pidfile munged "$MUNGE_PIDFILE" munged
  add_remove slurm
fi
if has_component redis; then
  stop_pidfile redis "$REDIS_PIDFILE" redis-server
  add_remove redis
fi
if has_component sshd; then
  stop_pidfile sshd "$SSHD_PIDFILE" sshd
  # The one file up.sh writes outside the infra dir; one an admin wrote under that name is left alone.
  if [[ -f "$OTP_PAM_FILE" ]] && [[ "$(head -n 1 "$OTP_PAM_FILE")" == "$OTP_PAM_HEADER" ]]; then
    rm -f "$OTP_PAM_FILE"
  fi
  rm -rf "$OTP_DIR"
  add_remove sshd
fi

# Other scripts trust the env file to describe what is up.
if [[ -f "$ENV_FILE" ]]; then
  env_update "${REMOVE[@]}" --
fi

printf 'infra down (%s) in %s ms\n' "${COMPONENTS[*]}" "$(($(now_ms) - T0))"
