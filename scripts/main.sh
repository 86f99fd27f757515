#!/usr/bin/env bash
# The main job: `bash scripts/main.sh`. Sets up the toolchain, synthesizes every component into
# components/<component>/main.tf.json, validates every deploy stack with Atmos (stack manifests
# and each component's generated OPA policy: per bad var, the sentence OpenTofu's validation
# prints), and prints what each stack would deploy.
set -euo pipefail
LOG_TAG=main
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$ROOT"
bash scripts/bootstrap.sh
source scripts/env.sh

log "synthesize all components"
npm run --silent synth

log "atmos validate stacks"
atmos validate stacks
for stack in local dev staging prod; do
  for file in components/*/main.tf.json; do
    component="$(basename "$(dirname "$file")")"
    atmos validate component "$component" -s "$stack" >/dev/null
  done
  log "stack $stack: every component passes its variable rules (settings.validation)"
done

npx tsx scripts/describe-deploy.ts

# A short run of the whole pipeline on one machine, so a newcomer sees it work: emulators, the
# local stack deployed, the real handler / Flink job / delivery, the blueprint query answered.
# Its last line is the summary; it exits non-zero when the answer is not exact.
log "pipeline-local: a short run (npm run pipeline:local)"
start=$SECONDS
npm run --silent pipeline:local -- --rate 50 --customers 10 --duration 20
log "pipeline-local: $((SECONDS - start)) s"
