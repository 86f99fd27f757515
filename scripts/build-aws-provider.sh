#!/usr/bin/env bash
# Build the Terraform AWS provider from the Go module proxy (no provider registry
# is reachable here) and lay it out as an OpenTofu filesystem mirror, then write
# a CLI config (<repo>/.tools/tofurc) so `tofu init` runs offline.
#
# Cache (outside the clone, keyed by version, "unpacked" mirror layout):
#   ${XDG_CACHE_HOME:-$HOME/.cache}/streaming-pipeline/providers/
#     registry.terraform.io/hashicorp/aws/<ver>/<os>_<arch>/terraform-provider-aws_v<ver>
#     registry.opentofu.org/hashicorp/aws -> registry.terraform.io/hashicorp/aws (symlink)
# A second run with the binary cached does not touch the network (no `go` call).
#
# Which version: the provider's module path has no /v6 suffix, so its v6.x tags
# are not Go module versions; only pseudo-versions (v1.60.1-0.<time>-<commit>) of
# commits are. The Go proxy reachable here refuses v6.25.0 (the version
# @cdktf/provider-aws 21.x was generated from) and every other query tried; the
# only non-2019 version it serves is the pseudo-version pinned below, a main-branch
# commit whose version/VERSION file reads 6.47.1 (between 6.47.0 and 6.48.0).
# See tools/TOFU_PROVIDER_BUILD.md. Override both variables together to build
# another commit if the proxy ever serves it:
#   AWS_PROVIDER_VERSION=6.25.0 AWS_PROVIDER_GO_VERSION=v1.60.1-0.<ts>-<sha> scripts/build-aws-provider.sh
#
# Environment knobs:
#   AWS_PROVIDER_VERSION        version label used in the mirror and the binary (default 6.47.1)
#   AWS_PROVIDER_GO_VERSION     Go module version to download (default: the pinned pseudo-version)
#   AWS_PROVIDER_BUILD_P        go build -p (default 2; the machine is shared, 1 halves peak memory)
#   AWS_PROVIDER_TIMEOUT_MIN    abort the build after this many minutes (default 60)
#   AWS_PROVIDER_MAX_RSS_GIB    abort when the build's process tree exceeds this RSS (default 20)
#   AWS_PROVIDER_FORCE=1        rebuild even if the cached binary exists
#   AWS_PROVIDER_CACHED_ONLY=1  never build: exit 3 when the provider is not cached (for CI)
set -euo pipefail

VER="${AWS_PROVIDER_VERSION:-6.47.1}"
VER="${VER#v}"
GO_VER="${AWS_PROVIDER_GO_VERSION:-v1.60.1-0.20260602190131-5f2286d6d836}"
MODULE="github.com/hashicorp/terraform-provider-aws"
BUILD_P="${AWS_PROVIDER_BUILD_P:-2}"
TIMEOUT_MIN="${AWS_PROVIDER_TIMEOUT_MIN:-60}"
MAX_RSS_GIB="${AWS_PROVIDER_MAX_RSS_GIB:-20}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/streaming-pipeline"
MIRROR="$CACHE_ROOT/providers"

os_arch() {
  local os arch
  os="$(uname -s | tr '[:upper:]' '[:lower:]')"
  case "$(uname -m)" in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) arch="$(uname -m)" ;;
  esac
  printf '%s_%s' "$os" "$arch"
}
OS_ARCH="$(os_arch)"
PKG_DIR="$MIRROR/registry.terraform.io/hashicorp/aws/$VER/$OS_ARCH"
BIN="$PKG_DIR/terraform-provider-aws_v$VER"
TOFURC="$ROOT/.tools/tofurc"

log() { printf '[build-aws-provider] %s\n' "$*" >&2; }

write_mirror_alias_and_tofurc() {
  # OpenTofu resolves `hashicorp/aws` to registry.opentofu.org; Terraform-style
  # addresses use registry.terraform.io. Serve both from one copy. OpenTofu's
  # mirror scan does not follow symlinks above the <os>_<arch> level, so the
  # alias is a symlink per package directory, not one for the whole type.
  local alias="$MIRROR/registry.opentofu.org/hashicorp/aws"
  [[ -L "$alias" ]] && rm -f "$alias"  # layout of an earlier revision of this script
  mkdir -p "$alias/$VER"
  ln -sfn "../../../../registry.terraform.io/hashicorp/aws/$VER/$OS_ARCH" "$alias/$VER/$OS_ARCH"
  mkdir -p "$(dirname "$TOFURC")"
  cat >"$TOFURC.tmp" <<EOF
# Written by scripts/build-aws-provider.sh: provider installation from the local
# filesystem mirror only for hashicorp/aws (built from source, no registry here).
# Point OpenTofu at it with TF_CLI_CONFIG_FILE (scripts/env.sh does).
provider_installation {
  filesystem_mirror {
    path    = "$MIRROR"
    include = ["registry.terraform.io/hashicorp/aws", "registry.opentofu.org/hashicorp/aws"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/aws", "registry.opentofu.org/hashicorp/aws"]
  }
}
EOF
  mv -f "$TOFURC.tmp" "$TOFURC"
  log "wrote $TOFURC (filesystem_mirror path = $MIRROR)"
}

if [[ "${AWS_PROVIDER_FORCE:-0}" != 1 && -x "$BIN" ]]; then
  log "AWS provider $VER already cached at $BIN (no network used)"
  write_mirror_alias_and_tofurc
  exit 0
fi

if [[ "${AWS_PROVIDER_CACHED_ONLY:-0}" == 1 ]]; then
  log "AWS provider $VER is not cached at $BIN (and AWS_PROVIDER_CACHED_ONLY=1: not building it)"
  exit 3
fi

command -v go >/dev/null || { log "ERROR: go is not on PATH"; exit 1; }
export GOTOOLCHAIN=local CGO_ENABLED=0
export GOFLAGS="-buildvcs=false -mod=mod"

mkdir -p "$CACHE_ROOT/providers-build"
WORK="$(mktemp -d "$CACHE_ROOT/providers-build/aws-$VER.XXXXXX")"
SAMPLER_PID=""
cleanup() {
  if [[ -n "$SAMPLER_PID" ]]; then kill "$SAMPLER_PID" 2>/dev/null || true; fi
  chmod -R u+w "$WORK" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

log "downloading module $MODULE@$GO_VER from the Go module proxy (label $VER)"
if ! go mod download -json "$MODULE@$GO_VER" >"$WORK/download.json" 2>"$WORK/download.err"; then
  log "ERROR: the Go module proxy did not serve $MODULE@$GO_VER:"
  sed 's/^/    /' "$WORK/download.err" "$WORK/download.json" >&2 || true
  exit 2
fi
SRC_DIR="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' "$WORK/download.json")"
[[ -n "$SRC_DIR" && -d "$SRC_DIR" ]] || { log "ERROR: go mod download gave no Dir"; exit 1; }
log "module source: $SRC_DIR (version/VERSION says $(cat "$SRC_DIR/version/VERSION" 2>/dev/null || echo '?'))"

log "copying source to writable build folder $WORK/src"
cp -r "$SRC_DIR" "$WORK/src"
chmod -R u+w "$WORK/src"

# Peak RSS of the WHOLE build process tree (go + concurrent compile/link
# processes); /usr/bin/time only reports the largest single process. Also
# enforces the memory ceiling.
sample_tree_rss() {
  local root=$1 out=$2 limit_kib=$((MAX_RSS_GIB * 1024 * 1024)) peak=0 cur
  while kill -0 "$root" 2>/dev/null; do
    cur="$(ps -e -o pid=,ppid=,rss= | awk -v r="$root" '
      { p[$1]=$2; m[$1]=$3 }
      END { for (i in p) { j=i; while (j in p && j!=r && j>1) j=p[j]; if (j==r) s+=m[i] } print s+0 }')"
    ((cur > peak)) && peak=$cur && echo "$peak" >"$out"
    if ((cur > limit_kib)); then
      echo "memory ceiling ${MAX_RSS_GIB} GiB exceeded (${cur} KiB)" >"$out.abort"
      kill -TERM -- "-$root" 2>/dev/null || kill -TERM "$root" 2>/dev/null || true
      return
    fi
    sleep 2
  done
}

LDFLAGS="-s -w -X github.com/hashicorp/terraform-provider-aws/version.ProviderVersion=$VER"
log "building (CGO_ENABLED=0, -trimpath, -p $BUILD_P, nice 19, timeout ${TIMEOUT_MIN}m, ceiling ${MAX_RSS_GIB} GiB); expect tens of minutes"
start=$(date +%s)
set +e
(
  cd "$WORK/src"
  exec setsid timeout --kill-after=30s "${TIMEOUT_MIN}m" \
    /usr/bin/time -v -o "$WORK/time.txt" \
    nice -n 19 go build -p "$BUILD_P" -trimpath -ldflags "$LDFLAGS" -o "$WORK/terraform-provider-aws" .
) &
BUILD_PID=$!
sample_tree_rss "$BUILD_PID" "$WORK/peak_tree_kib" &
SAMPLER_PID=$!
wait "$BUILD_PID"
rc=$?
set -e
end=$(date +%s)
wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=""

STATS="$WORK/build-stats.txt"
{
  echo "label=$VER"
  echo "module=$MODULE@$GO_VER"
  echo "go=$(go env GOVERSION) p=$BUILD_P"
  echo "built_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "exit_code=$rc"
  echo "wall_seconds=$((end - start))"
  [[ -f "$WORK/time.txt" ]] && grep -E 'Elapsed \(wall clock\)|User time|System time|Maximum resident set size' "$WORK/time.txt" | sed 's/^[[:space:]]*//'
  [[ -f "$WORK/peak_tree_kib" ]] && echo "peak_process_tree_rss_kib=$(cat "$WORK/peak_tree_kib")"
  [[ -f "$WORK/peak_tree_kib.abort" ]] && cat "$WORK/peak_tree_kib.abort"
} >"$STATS"
log "build stats:"
sed 's/^/    /' "$STATS" >&2

if [[ $rc -ne 0 ]]; then
  ((rc == 124 || rc == 137)) && log "ERROR: build exceeded ${TIMEOUT_MIN} minutes"
  log "ERROR: go build failed (exit $rc)"
  mkdir -p "$CACHE_ROOT/providers-build"
  cp "$STATS" "$CACHE_ROOT/providers-build/aws-$VER.failed-build-stats.txt"
  exit "$rc"
fi

mkdir -p "$PKG_DIR"
mv -f "$WORK/terraform-provider-aws" "$BIN.tmp"
mv -f "$BIN.tmp" "$BIN"
# Stats live beside (not inside) the mirror: OpenTofu scans every entry under it.
cp "$STATS" "$CACHE_ROOT/providers-build/aws-$VER.build-stats.txt"
log "installed $BIN ($(du -h "$BIN" | cut -f1))"
write_mirror_alias_and_tofurc
