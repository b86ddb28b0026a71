#!/usr/bin/env bash
# Installs (if missing) what the benches in tools/bench need beyond the tests' infrastructure: nginx,
# the peer reverse proxy the data-plane bench measures against, and wrk, its load generator. The
# tests never need them, so tools/infra/up.sh (which `npm test` runs) leaves them out. Idempotent.
# Usage: tools/infra/bench-tools.sh   (as root, or with the packages already installed)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The bench runs its own nginx as the current user; Debian's package would start a system one on
# port 80 at install. policy-rc.d (see invoke-rc.d(8)) refuses that start, for this install only.
POLICY=/usr/sbin/policy-rc.d
if is_root && [[ ! -e $POLICY ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$POLICY"
  chmod 755 "$POLICY"
  trap 'rm -f "$POLICY"' EXIT
fi
apt_install_missing nginx-light wrk
log "bench tools: $(command -v nginx || echo /usr/sbin/nginx), $(command -v wrk)"
