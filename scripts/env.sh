# Source this to use the project's pinned tools from a shell:  source scripts/env.sh
# Puts .tools/bin (atmos, tofu) first on PATH and turns off Atmos telemetry.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$_root/.tools/bin:$_root/node_modules/.bin:$PATH"
export ATMOS_TELEMETRY_ENABLED=false
export ATMOS_VERSION_CHECK_ENABLED=false
export CHECKPOINT_DISABLE=1
export TF_IN_AUTOMATION=1
unset _root
