#!/usr/bin/env bash
# Builds the pinned Atmos CLI from the Go module proxy into the machine cache and links it to
# .tools/bin/atmos. Idempotent and offline once cached.
set -euo pipefail
LOG_TAG=build-atmos
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# Newest release the module proxy serves here (v1.191.0 and later answer 403).
ATMOS_VERSION="${ATMOS_VERSION:-v1.190.0}"
# gomplate v3 needs inet.af/netaddr, which the proxy refuses under that path; the same code is
# served as github.com/inetaf/netaddr.
go_module_build atmos github.com/cloudposse/atmos "$ATMOS_VERSION" \
  "-s -w -X 'github.com/cloudposse/atmos/pkg/version.Version=$ATMOS_VERSION'" \
  "inet.af/netaddr=github.com/inetaf/netaddr@v0.0.0-20230525184311-b8eac61e914a"
