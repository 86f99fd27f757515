# Source this to use the project's pinned tools from a shell:  source scripts/env.sh
# Puts .tools/bin (atmos, tofu) first on PATH, turns off Atmos telemetry and OpenTofu's
# version check, and points OpenTofu at the local provider mirror when there is one.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$_root/.tools/bin:$_root/node_modules/.bin:$PATH"
export ATMOS_TELEMETRY_ENABLED=false
export ATMOS_VERSION_CHECK_ENABLED=false
export CHECKPOINT_DISABLE=1
export TF_IN_AUTOMATION=1
# The OpenTofu CLI config with the filesystem mirror of the AWS provider (written by
# scripts/build-aws-provider.sh), so `tofu init` runs offline; otherwise no CLI config at all.
if [ -f "$_root/.tools/tofurc" ]; then
  export TF_CLI_CONFIG_FILE="$_root/.tools/tofurc"
else
  unset TF_CLI_CONFIG_FILE
fi
unset _root
