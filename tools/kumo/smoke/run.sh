#!/usr/bin/env bash
# Starts .tools/bin/kumo on a free 127.0.0.1 port, runs the CloudWatch smoke test (main.go, with
# the provider's aws-sdk-go-v2 CloudWatch client) against it, and stops it again.
#   bash tools/kumo/smoke/run.sh        (after bash scripts/build-kumo.sh)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
kumo="${KUMO_BIN:-$root/.tools/bin/kumo}"  # KUMO_BIN: another build, e.g. unpatched
[[ -x "$kumo" ]] || { echo "kumo smoke: $kumo missing; run bash scripts/build-kumo.sh" >&2; exit 1; }

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$(mktemp)"
AWS_DEFAULT_REGION=us-east-1 KUMO_LOG_LEVEL=warn "$kumo" --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "kumo smoke: kumo exited" >&2; exit 1; }
  sleep 0.05
done
curl -fsS "http://127.0.0.1:$port/health" >/dev/null || { cat "$log" >&2; echo "kumo smoke: not ready after 5 s" >&2; exit 1; }
(cd "$here" && GOTOOLCHAIN=local GOFLAGS=-mod=mod go run . -endpoint "http://127.0.0.1:$port")
