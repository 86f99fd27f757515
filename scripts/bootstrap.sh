#!/usr/bin/env bash
# Installs the project's toolchain into git-ignored folders, at pinned versions:
#   node_modules/          npm ci from package-lock.json
#   .tools/venv/           moto server (tests' local AWS API), from tools/requirements-moto.txt,
#                          patched with tools/moto/*.patch (tools/moto/apply-patches.sh)
#   .tools/bin/atmos       Atmos CLI built from the Go module proxy (cached per machine)
#   .tools/bin/tofu        OpenTofu CLI built from the Go module proxy (cached per machine)
#   .tools/tofurc          OpenTofu CLI config naming the filesystem mirror with the AWS provider,
#                          built for the services the components use (cached per machine)
#   .tools/bin/kumo        kumo, the CloudWatch emulator of the apply tier (cached per machine)
#   node_modules/kinesis-local  kinesis-mock, the apply tier's Kinesis emulator (npm ci above)
#   .tools/bin/actionlint  actionlint, the linter of the example CI workflow (cached per machine)
# Idempotent: each step is skipped when its pinned result is already there, so a second run is
# fast and touches no network.
set -euo pipefail
LOG_TAG=bootstrap
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$ROOT"

# Node modules: reinstall only when package-lock.json changed since the last install.
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ -f node_modules/.bootstrap-lock-sum && "$(cat node_modules/.bootstrap-lock-sum)" == "$lock_sum" ]]; then
  log "node_modules: up to date"
else
  log "node_modules: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.bootstrap-lock-sum
fi

# Python virtualenvs, one per requirements file (their pins would clash in one venv).
python_venv() {
  local venv="$1" requirements="$2"
  local sum
  sum="$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [[ -f "$venv/.bootstrap-sum" && "$(cat "$venv/.bootstrap-sum")" == "$sum" ]]; then
    log "$venv: up to date"
    return 0
  fi
  log "$venv: installing $requirements"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$requirements"
  echo "$sum" > "$venv/.bootstrap-sum"
}
python_venv .tools/venv tools/requirements-moto.txt
# moto patches (tools/moto/README.md): applied to the venv's moto, re-applied when it is rebuilt,
# fails loudly when one does not apply.
bash tools/moto/apply-patches.sh .tools/venv
python_venv .tools/checkov-venv tools/requirements-checkov.txt

bash scripts/build-atmos.sh
bash scripts/build-tofu.sh
bash scripts/build-aws-provider.sh
bash scripts/build-kumo.sh
# The example pull-request workflow (.github/workflows/plan-summary.yml) is linted by a test.
go_module_build actionlint github.com/rhysd/actionlint v1.7.12 "-s -w -X github.com/rhysd/actionlint.version=v1.7.12"

log "toolchain ready: $(ls "$TOOLS_BIN" | tr '\n' ' ')"
