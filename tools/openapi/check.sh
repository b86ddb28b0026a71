#!/usr/bin/env bash
# Fails (with a diff) when docs/openapi.json no longer matches what the gateway's code generates.
# Fix: node tools/openapi/generate.js  (or npm run openapi), then commit docs/openapi.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node tools/openapi/generate.js --out "$tmp/openapi.json" >/dev/null

if [[ ! -f docs/openapi.json ]]; then
  echo "docs/openapi.json is missing; run: node tools/openapi/generate.js" >&2
  exit 1
fi
if ! diff -u docs/openapi.json "$tmp/openapi.json" >"$tmp/diff"; then
  echo "docs/openapi.json is out of date with the gateway's code; run: node tools/openapi/generate.js" >&2
  head -n 200 "$tmp/diff" >&2
  exit 1
fi
echo "docs/openapi.json is up to date"
