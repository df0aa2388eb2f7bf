#!/usr/bin/env bash
# The demo: builds Cepheus (the README's build command), starts it on the embedded
# log with the example fraud and equipment rules (deploy/config/laptop.toml), feeds
# a generated stream with planted incidents (demo_feed.py) and prints the alerts as
# they arrive, then stops the service. Needs a Rust toolchain and python3.
#
#   deploy/local/demo.sh                    # port 8080 (gRPC 50051)
#   CEPHEUS_DEMO_PORT=9080 deploy/local/demo.sh
#   CEPHEUS_DEMO_KEEP=1 deploy/local/demo.sh   # leave it running (Ctrl-C stops it): curl :8080/metrics
#   CEPHEUS_BIN=path/to/cepheus deploy/local/demo.sh   # skip the build
#
# Exit status 0 when every planted incident alerted and nothing else did.
set -euo pipefail
cd "$(dirname "$0")/../.."

PORT="${CEPHEUS_DEMO_PORT:-8080}"
GRPC_PORT="${CEPHEUS_DEMO_GRPC_PORT:-$((PORT + 1))}"
command -v python3 >/dev/null || { echo "error: the demo needs python3" >&2; exit 2; }

if [ -z "${CEPHEUS_BIN:-}" ]; then
  echo "== building: cargo build --release -p cepheus"
  cargo build --release -p cepheus
  CEPHEUS_BIN="${CARGO_TARGET_DIR:-target}/release/cepheus"
fi

WORK="$(mktemp -d -t cepheus-demo.XXXXXX)"
PID=""
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

echo "== starting cepheus on 127.0.0.1:$PORT (log: $WORK/cepheus.log)"
CEPHEUS__SERVER__LISTEN="127.0.0.1:$PORT" \
CEPHEUS__SERVER__GRPC_LISTEN="127.0.0.1:$GRPC_PORT" \
CEPHEUS__ENGINE__STATE_DIR="$WORK/state" \
CEPHEUS__ENGINE__CHECKPOINT_DIR="$WORK/checkpoints" \
  "$CEPHEUS_BIN" serve --config deploy/config/laptop.toml >"$WORK/cepheus.log" 2>&1 &
PID=$!

# Ready: rules loaded and the engine running.
python3 - "$PORT" "$PID" <<'PY' || { echo "cepheus did not become ready; its log:" >&2; tail -n 40 "$WORK/cepheus.log" >&2; exit 1; }
import os, sys, time, urllib.request
port, pid = sys.argv[1], int(sys.argv[2])
deadline = time.time() + 60
while time.time() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(1)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.3)
sys.exit(1)
PY
python3 - "$PORT" <<'PY'
import json, sys, urllib.request
rules = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/rules", timeout=5))
rules = rules.get("rules", rules) if isinstance(rules, dict) else rules
print("== rules: " + ", ".join(sorted(r.get("id", r.get("name", "?")) for r in rules)))
PY

status=0
python3 deploy/local/demo_feed.py --url "http://127.0.0.1:$PORT" || status=$?

echo "== a few of the metrics Prometheus scrapes from /metrics:"
python3 - "$PORT" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode()
for line in text.splitlines():
    if line.startswith(("cepheus_events_total", "cepheus_alerts_total", "cepheus_events_malformed_total")):
        print("  " + line)
PY

if [ "${CEPHEUS_DEMO_KEEP:-0}" = "1" ]; then
  echo "== cepheus keeps running on http://127.0.0.1:$PORT (Ctrl-C stops it)"
  wait "$PID" || true
fi
exit "$status"
