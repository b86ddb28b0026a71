#!/usr/bin/env bash
# Provisions the Python venv the e2e tests and the Python OpenAI example run in: the official
# `openai` package from the machine's local pip index, offline. Idempotent: a ready venv is left
# alone (about 0.1 s). Prints the venv's python on its last line.
# Usage: tools/infra/python-venv.sh   (state in $AIPLANE_INFRA_DIR/venv, default /var/tmp/aiplane-infra/venv)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VENV_DIR="$INFRA_DIR/venv"
# The packages the clients' tests use; changing this list rebuilds the venv.
PACKAGES=(openai)
INDEX_URL="${AIPLANE_PIP_INDEX_URL:-file:///opt/pypi/simple}"
EXTRA_INDEX_URL="${AIPLANE_PIP_EXTRA_INDEX_URL:-file:///opt/pypi-more/simple}"
# The system interpreter, not a pyenv shim: the venv must outlive whatever the shell had on PATH.
BASE_PYTHON="${AIPLANE_PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}"
MARKER="$VENV_DIR/.aiplane-ready"

ready() {
  [[ -f "$MARKER" ]] && [[ "$(cat "$MARKER")" == "${PACKAGES[*]}" ]] \
    && "$VENV_DIR/bin/python" -c 'import openai' >/dev/null 2>&1
}

T0=$(now_ms)
if ready; then
  printf 'python venv ready (%s)\n' "$VENV_DIR" >&2
else
  rm -rf -- "$VENV_DIR"
  mkdir -p "$INFRA_DIR"
  "$BASE_PYTHON" -m venv "$VENV_DIR" || die "$BASE_PYTHON -m venv failed (Debian: apt-get install python3-venv)"
  # Only the local indexes: CI has no route to PyPI.
  "$VENV_DIR/bin/pip" install --quiet --disable-pip-version-check --no-input \
    --index-url "$INDEX_URL" --extra-index-url "$EXTRA_INDEX_URL" "${PACKAGES[@]}" 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory" >&2 || true
  "$VENV_DIR/bin/python" -c 'import openai' || die "pip could not install ${PACKAGES[*]} from $INDEX_URL"
  printf '%s\n' "${PACKAGES[*]}" >"$MARKER"
  printf 'python venv created in %s ms (%s)\n' "$(($(now_ms) - T0))" "$VENV_DIR" >&2
fi
printf '%s\n' "$VENV_DIR/bin/python"
