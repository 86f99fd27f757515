#!/usr/bin/env bash
# Builds the pinned kumo AWS emulator (github.com/sivchari/kumo) from the Go module proxy, with our
# patches from tools/kumo/*.patch applied (see tools/kumo/README.md), into the machine cache
# ($CACHE_ROOT/kumo/<version>-<patch hash>/kumo) and links it to .tools/bin/kumo.
# kumo serves CloudWatch over smithy-rpc-v2-cbor, the protocol of the AWS provider's CloudWatch
# client, which moto does not serve. Idempotent and offline once cached (no go command then).
set -euo pipefail
LOG_TAG=build-kumo
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

KUMO_VERSION="${KUMO_VERSION:-$(cat "$ROOT/tools/kumo/VERSION")}"
patch_args=()
shopt -s nullglob
for patch_file in "$ROOT"/tools/kumo/*.patch; do
  patch_args+=(--patch "$patch_file")
done
shopt -u nullglob
go_module_build kumo github.com/sivchari/kumo "$KUMO_VERSION" "-s -w" "${patch_args[@]}"
