#!/usr/bin/env bash
# `npm start`: everything a fresh clone needs, then the whole stack on the embedded default
# (local executor, local Redis). Ctrl-C stops the services, their workloads, and a Redis it started.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash tools/ensure-deps.sh

redis_port="${AIPLANE_REDIS_PORT:-6379}"
started_redis=""
if ! (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null; then
  started_redis=1
fi
AIPLANE_REDIS_PORT="$redis_port" bash tools/infra/up.sh redis

stop_redis() {
  if [[ -n "$started_redis" ]]; then bash tools/infra/down.sh redis >/dev/null || true; fi
}
trap stop_redis EXIT
# The stack handles SIGINT itself; this shell just waits for it to finish.
trap '' INT

AIPLANE_ROOT="$root" REDIS_URL="redis://127.0.0.1:$redis_port" node dist/tools/stack/start-stack.js
