#!/usr/bin/env bash
# `npm test`: provisions real Redis, SLURM and sshd, then runs every tier. Ends with one
# plain "N passed, N failed" line (the jest summaries are not in a format CI counts).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash tools/ensure-deps.sh || exit 1
bash tools/infra/up.sh || exit 1
# The Python OpenAI client for the SDK suite and the examples, from the local pip index (offline).
bash tools/infra/python-venv.sh >/dev/null || exit 1

reports="$root/tmp/test-reports"
rm -rf "$reports" && mkdir -p "$reports"
failed_steps=()

step() {
  local name="$1"
  shift
  echo
  echo "=== $name ==="
  if ! "$@"; then failed_steps+=("$name"); fi
}

jest_tier() {
  local tier="$1"
  shift
  jest_run "$tier" --selectProjects "$tier" "$@"
}

jest_run() {
  local report="$1"
  shift
  # --forceExit: a handle leaked by one test must fail that test's assertions, not hang CI for 90 minutes.
  npx jest -c jest.config.js --forceExit --json --outputFile="$reports/$report.json" "$@"
}

step "format" npx prettier --check . --log-level warn
step "typecheck" npx tsc -p tsconfig.json --noEmit
# The dashboard is browser code: its own config (DOM, JSX), kept apart so no DOM type reaches the servers.
step "typecheck (dashboard)" npx tsc -p apps/dashboard/tsconfig.json
step "lint" npm run --silent lint
step "openapi drift" bash tools/openapi/check.sh
step "unit tests" jest_tier unit
step "integration tests" jest_tier integration --runInBand
step "e2e tests" jest_tier e2e --runInBand
# The fault scenarios once more in a random order (jest prints the seed; --seed=<n> replays it):
# each must pass whatever ran before it.
step "fault suite, shuffled" jest_run e2e-faults-shuffled --selectProjects e2e --runInBand --randomize \
  tests/e2e/faults.e2e-spec.ts

node tools/test-summary.js "$reports" "${failed_steps[@]}"
