#!/usr/bin/env bash
# Installs node_modules when missing or older than the lockfile, then builds dist/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [[ ! -x node_modules/.bin/swc || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "Installing npm dependencies (npm ci)..."
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
