# Source this to use the project's pinned tools from a shell:  source scripts/env.sh
# Puts the pinned Node.js (.tools/node/bin, see .node-version) and .tools/bin (atmos, tofu) first on
# PATH, turns off Atmos telemetry and OpenTofu's version check, and points OpenTofu at the local
# provider mirror when there is one. Returns non-zero (so `set -e` scripts stop) when the pinned
# Node.js is not installed: run `bash scripts/bootstrap.sh` first.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$_root/.tools/node/bin:$_root/.tools/bin:$_root/node_modules/.bin:$PATH"
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
_node_want="v$(tr -d '[:space:]' < "$_root/.node-version")"
_node_have="$("$_root/.tools/node/bin/node" --version 2>/dev/null || echo none)"
unset _root
if [ "$_node_have" != "$_node_want" ]; then
  echo "scripts/env.sh: .tools/node/bin/node is $_node_have, the project pins $_node_want: run 'bash scripts/bootstrap.sh'" >&2
  unset _node_want _node_have
  return 1
fi
unset _node_want _node_have
