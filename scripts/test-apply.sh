#!/usr/bin/env bash
# The apply tier: real `atmos terraform plan/apply/destroy <component> -s local` against a moto
# server on 127.0.0.1 (see test-apply/README.md). Not part of scripts/test.sh: it needs the AWS
# provider build (scripts/build-aws-provider.sh) and takes minutes.
#
#   bash scripts/test-apply.sh            # whole tier; closing line "apply-tier: N passed, N failed"
#   APPLY_TIER_VERBOSE=1 bash scripts/test-apply.sh   # also print every atmos run's output
set -euo pipefail
LOG_TAG=test-apply
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$ROOT"
source scripts/env.sh

# --- tools -------------------------------------------------------------------------------------
[[ -x .tools/bin/tofu ]] || die "OpenTofu not found at .tools/bin/tofu: run scripts/build-tofu.sh (or scripts/bootstrap.sh)"
[[ -x .tools/bin/atmos ]] || die "Atmos not found at .tools/bin/atmos: run scripts/bootstrap.sh"
MOTO_BIN=.tools/venv/bin/moto_server
[[ -x $MOTO_BIN ]] || die "moto_server not found at $MOTO_BIN: run scripts/bootstrap.sh"
[[ -n "${TF_CLI_CONFIG_FILE:-}" && -f "$TF_CLI_CONFIG_FILE" ]] ||
  die "no OpenTofu CLI config with the AWS provider mirror (.tools/tofurc): run scripts/build-aws-provider.sh"
mirror="$(sed -n 's/^[[:space:]]*path[[:space:]]*=[[:space:]]*"\(.*\)"/\1/p' "$TF_CLI_CONFIG_FILE" | head -1)"
provider="$(find "${mirror:-/nonexistent}" -path '*hashicorp/aws/*' -name 'terraform-provider-aws*' -type f 2>/dev/null | head -1)"
[[ -n "$provider" && -x "$provider" ]] ||
  die "the AWS provider is missing from the mirror ${mirror:-<none>} named in $TF_CLI_CONFIG_FILE: run scripts/build-aws-provider.sh"
log "tofu: $(tofu version | head -1); provider: $provider"

# --- moto on a free loopback port ----------------------------------------------------------------
port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
moto_log="$(mktemp -t apply-tier-moto.XXXXXX.log)"
"$MOTO_BIN" -H 127.0.0.1 -p "$port" >"$moto_log" 2>&1 &
moto_pid=$!
cleanup() {
  if kill -0 "$moto_pid" 2>/dev/null; then
    kill "$moto_pid" 2>/dev/null || true
    wait "$moto_pid" 2>/dev/null || true
  fi
  rm -f "$moto_log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export LOCAL_AWS_ENDPOINT_URL="http://127.0.0.1:$port"
for _ in $(seq 1 150); do
  curl -fsS -o /dev/null "$LOCAL_AWS_ENDPOINT_URL/moto-api/" 2>/dev/null && break
  kill -0 "$moto_pid" 2>/dev/null || { cat "$moto_log" >&2; die "moto_server exited"; }
  sleep 0.2
done
curl -fsS -o /dev/null "$LOCAL_AWS_ENDPOINT_URL/moto-api/" || die "moto_server does not answer on $LOCAL_AWS_ENDPOINT_URL"
log "moto_server (pid $moto_pid) on $LOCAL_AWS_ENDPOINT_URL"

# --- synth and artifacts ---------------------------------------------------------------------------
log "synth"
npm run --silent synth
log "build:lambda"
npm run --silent build:lambda
log "build:flink"
npm run --silent build:flink

# --- the tier ---------------------------------------------------------------------------------------
mkdir -p .tools/reports
report=.tools/reports/test-apply.json
rm -f "$report"
status=0
npx vitest run --config test-apply/vitest.config.ts --reporter=verbose --reporter=json --outputFile.json="$report" || status=$?
if [[ -f $report ]]; then
  node -e '
    const r = require(process.argv[1]);
    console.log(`apply-tier: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
    if (r.numTotalTests === 0) { console.error("apply tier ran no test"); process.exit(1); }
  ' "$ROOT/$report"
else
  echo "apply-tier: 0 passed, 1 failed (vitest wrote no report)"
  status=1
fi
exit $status
