#!/usr/bin/env bash
# Builds the pinned OpenTofu CLI from the Go module proxy into the machine cache and links it to
# .tools/bin/tofu. `go install` is refused (OpenTofu's go.mod has a replace directive), so the
# module is downloaded and built from a writable copy. Idempotent and offline once cached.
# Measured here: ~7.5 min wall, 1.7 GiB peak RSS on 2 shared cores (tools/TOFU_PROVIDER_BUILD.md).
set -euo pipefail
LOG_TAG=build-tofu
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

TOFU_VERSION="${TOFU_VERSION:-v1.12.6}"
go_module_build tofu github.com/opentofu/opentofu "$TOFU_VERSION" \
  "-s -w -X 'github.com/opentofu/opentofu/version.dev=no'"
