#!/usr/bin/env bash
# The apply tier: real `atmos terraform plan/apply/destroy <component> -s local` against local AWS
# emulators on 127.0.0.1 (moto, kinesis-mock, kumo; see test-apply/README.md). Part of
# scripts/test.sh; the bootstrap installs everything it needs.
#
#   bash scripts/test-apply.sh                         # closing line "apply-tier: N passed, N failed"
#   APPLY_TIER_VERBOSE=1 bash scripts/test-apply.sh    # also print every atmos run's output
#   APPLY_TIER_JOBS=2 bash scripts/test-apply.sh       # atmos runs at once (default 5)
set -euo pipefail
LOG_TAG=test-apply
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$ROOT"
source scripts/env.sh
started=$SECONDS

# --- tools (the test starts the emulators itself: test-apply/emulators.ts) -----------------------
[[ -x .tools/bin/tofu ]] || die "OpenTofu not found at .tools/bin/tofu: run scripts/bootstrap.sh"
[[ -x .tools/bin/atmos ]] || die "Atmos not found at .tools/bin/atmos: run scripts/bootstrap.sh"
[[ -x .tools/venv/bin/moto_server ]] || die "moto_server not found at .tools/venv/bin/moto_server: run scripts/bootstrap.sh"
[[ -f node_modules/kinesis-local/main.js ]] || die "kinesis-mock (npm kinesis-local) not found in node_modules: run scripts/bootstrap.sh"
[[ -x .tools/bin/kumo ]] || die "kumo not found at .tools/bin/kumo: run scripts/bootstrap.sh (scripts/build-kumo.sh)"
[[ -n "${TF_CLI_CONFIG_FILE:-}" && -f "$TF_CLI_CONFIG_FILE" ]] ||
  die "no OpenTofu CLI config with the AWS provider mirror (.tools/tofurc): run scripts/bootstrap.sh (scripts/build-aws-provider.sh)"
mirror="$(sed -n 's/^[[:space:]]*path[[:space:]]*=[[:space:]]*"\(.*\)"/\1/p' "$TF_CLI_CONFIG_FILE" | head -1)"
provider="$(find -L "${mirror:-/nonexistent}" -path '*hashicorp/aws/*' -name 'terraform-provider-aws*' -type f 2>/dev/null | head -1)"
[[ -n "$provider" && -x "$provider" ]] ||
  die "the AWS provider is missing from the mirror ${mirror:-<none>} named in $TF_CLI_CONFIG_FILE: run scripts/build-aws-provider.sh"
log "tofu: $(tofu version | head -1); provider: $provider"

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
summary=.tools/reports/apply-tier-summary.txt
rm -f "$report" "$summary"
status=0
tier_started=$SECONDS
npx vitest run --config test-apply/vitest.config.ts --reporter=verbose --reporter=json --outputFile.json="$report" || status=$?
[[ -f $summary ]] && cat "$summary"
log "wall: tests $((SECONDS - tier_started)) s, whole script $((SECONDS - started)) s"
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
