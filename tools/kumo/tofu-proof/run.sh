#!/usr/bin/env bash
# Real OpenTofu + AWS provider against a fresh kumo on a free 127.0.0.1 port: apply, plan
# -detailed-exitcode (must exit 0), update in place, plan again (exit 0), destroy. Fails on any
# step. Needs .tools/bin/{kumo,tofu} and the provider's CLI config (.tools/tofurc, written by
# scripts/build-aws-provider.sh; override with TF_CLI_CONFIG_FILE).
#   bash tools/kumo/tofu-proof/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
kumo="${KUMO_BIN:-$root/.tools/bin/kumo}"
tofu="$root/.tools/bin/tofu"
export TF_CLI_CONFIG_FILE="${TF_CLI_CONFIG_FILE:-$root/.tools/tofurc}"
for f in "$kumo" "$tofu" "$TF_CLI_CONFIG_FILE"; do [[ -e "$f" ]] || { echo "tofu-proof: $f missing" >&2; exit 1; }; done

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
AWS_DEFAULT_REGION=us-east-1 KUMO_LOG_LEVEL=warn "$kumo" --host 127.0.0.1 --port "$port" >"$work/kumo.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.05; done
curl -fsS "http://127.0.0.1:$port/health" >/dev/null

cp "$here/main.tf" "$work/"
cd "$work"
export TF_IN_AUTOMATION=1 TF_INPUT=0 TF_VAR_cloudwatch_endpoint="http://127.0.0.1:$port"
step() { echo "tofu-proof: $*" >&2; }
no_changes() {
  local rc=0
  "$tofu" plan -detailed-exitcode -no-color "$@" >plan.txt 2>&1 || rc=$?
  if ((rc != 0)); then cat plan.txt >&2; step "FAIL: plan exit $rc, want 0 (No changes)"; exit 1; fi
  step "plan: No changes"
}
"$tofu" init -no-color >/dev/null
"$tofu" apply -auto-approve -no-color >apply1.txt || { cat apply1.txt >&2; step "FAIL: apply"; exit 1; }
step "apply: created"
no_changes
update=(-var threshold=300 -var component_tag=kinesis-output)
"$tofu" apply -auto-approve -no-color "${update[@]}" >apply2.txt || { cat apply2.txt >&2; step "FAIL: update"; exit 1; }
grep -q "0 added, 2 changed, 0 destroyed" apply2.txt || { cat apply2.txt >&2; step "FAIL: update was not 2 in-place changes"; exit 1; }
step "apply: 2 updated in place"
no_changes "${update[@]}"
"$tofu" destroy -auto-approve -no-color "${update[@]}" >destroy.txt || { cat destroy.txt >&2; step "FAIL: destroy"; exit 1; }
step "destroy: done"
step "passed"
