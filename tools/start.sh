#!/usr/bin/env bash
# `npm start`: everything a fresh clone needs, then the whole stack on the embedded default
# (local executor, a private Redis on a Unix socket under .aiplane/redis). Ctrl-C stops the services,
# their workloads and that Redis. Set REDIS_URL (with its password) to use an existing Redis instead.
# `npm start -- --slurm` submits the workloads to this machine's SLURM instead; `-- --help` says more.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash tools/ensure-deps.sh

# Usage and argument errors need no Redis: the script answers them before starting anything.
for arg in "$@"; do
  if [[ "$arg" != --slurm && "$arg" != --local ]]; then
    exec env AIPLANE_ROOT="$root" node dist/tools/stack/start-stack.js "$@"
  fi
done

if [[ -z "${REDIS_URL:-}" ]] && ! command -v "${REDIS_SERVER_BIN:-redis-server}" >/dev/null; then
  echo "npm start runs its own Redis but ${REDIS_SERVER_BIN:-redis-server} is not installed:" >&2
  echo "  apt-get install -y redis-server   (or set REDIS_SERVER_BIN to its path)" >&2
  exit 1
fi

# The stack handles SIGINT itself; this shell just waits for it to finish.
trap '' INT

AIPLANE_ROOT="$root" node dist/tools/stack/start-stack.js "$@"
