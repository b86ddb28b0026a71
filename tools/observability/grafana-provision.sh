#!/usr/bin/env bash
# Puts the aiplane dashboards into a running Grafana through its HTTP API, in a folder "aiplane",
# replacing earlier versions; with PROMETHEUS_URL set, also the Prometheus datasource they read.
#
#   GRAFANA_TOKEN=<service account token> tools/observability/grafana-provision.sh http://localhost:3000
#   PROMETHEUS_URL=http://127.0.0.1:9090 GRAFANA_TOKEN=... tools/observability/grafana-provision.sh <grafana-url>
#
# The token needs the Editor role (Admin to create the datasource). For a Grafana you start yourself,
# the files under tools/observability/grafana/provisioning do the same without a token
# (docs/observability.md).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
if [[ $# -ne 1 || "$1" == -h || "$1" == --help ]]; then
  usage >&2
  exit 2
fi
grafana="${1%/}"
if [[ ! "$grafana" =~ ^https?:// ]]; then
  echo "grafana-provision: the Grafana URL must start with http:// or https:// (got \"$grafana\")" >&2
  exit 2
fi
if [[ -z "${GRAFANA_TOKEN:-}" ]]; then
  echo "grafana-provision: GRAFANA_TOKEN must hold a Grafana service account token (Editor role)" >&2
  exit 2
fi

# One request; prints the answer and fails with it on a non-2xx status.
call() {
  local method="$1" path="$2" body="$3" answer status
  answer="$(curl -sS -X "$method" "$grafana$path" \
    -H "Authorization: Bearer $GRAFANA_TOKEN" -H 'Content-Type: application/json' \
    --data-binary @- -w '\n%{http_code}' <<<"$body")"
  status="${answer##*$'\n'}"
  answer="${answer%$'\n'*}"
  if [[ "$status" != 2?? ]]; then
    echo "grafana-provision: $method $path answered $status: $answer" >&2
    return 1
  fi
  printf '%s\n' "$answer"
}

# The folder's uid is fixed, so a second run finds it (412/409: it exists already).
call POST /api/folders '{"uid":"aiplane","title":"aiplane"}' >/dev/null 2>&1 || true

if [[ -n "${PROMETHEUS_URL:-}" ]]; then
  body="$(PROMETHEUS_URL="$PROMETHEUS_URL" node -e '
    process.stdout.write(JSON.stringify({ name: "aiplane Prometheus", uid: "aiplane-prometheus",
      type: "prometheus", access: "proxy", url: process.env.PROMETHEUS_URL, isDefault: true,
      jsonData: { timeInterval: "15s" } }));')"
  if call POST /api/datasources "$body" >/dev/null 2>&1; then
    echo "datasource aiplane Prometheus → $PROMETHEUS_URL"
  else
    call PUT /api/datasources/uid/aiplane-prometheus "$body" >/dev/null
    echo "datasource aiplane Prometheus updated → $PROMETHEUS_URL"
  fi
fi

for file in "$here"/grafana/dashboards/*.json; do
  body="$(node -e '
    const fs = require("node:fs");
    const dashboard = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    // Grafana assigns its own numeric id; the uid is what makes a second run replace the first.
    delete dashboard.id;
    process.stdout.write(JSON.stringify({ dashboard, folderUid: "aiplane", overwrite: true,
      message: "tools/observability/grafana-provision.sh" }));' "$file")"
  answer="$(call POST /api/dashboards/db "$body")"
  echo "$(basename "$file" .json): $grafana$(node -e 'process.stdout.write(String(JSON.parse(process.argv[1]).url ?? ""))' "$answer")"
done
