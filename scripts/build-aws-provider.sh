#!/usr/bin/env bash
# Build the Terraform AWS provider from the Go module proxy (no provider registry is reachable
# here) with ONLY the service packages our components use, lay it out as an OpenTofu filesystem
# mirror and write a CLI config (<repo>/.tools/tofurc) so `tofu init` runs offline.
# See tools/TOFU_PROVIDER_BUILD.md for the figures and the reasoning.
#
# The service set is computed, never hand-kept (tools/aws-provider/service-set.mjs):
#   1. every `resource`/`data`/`ephemeral` type of the AWS provider in components/*/main.tf.json
#      (this script runs `npm run synth` first; AWS_PROVIDER_SYNTH=0 skips that and then requires
#      every component's main.tf.json to exist, failing with a message naming the missing ones);
#   2. mapped to service packages with the provider's own generated registrations
#      (internal/service/<pkg>/service_package_gen.go names each type it registers);
#   3. closed: internal/provider/sdkv2/service_packages_gen.go registers only the set, and
#      internal/conns/awsclient_gen.go keeps only the client getters the compiled provider code
#      (`go list -deps`) names; the service package behind every kept getter is registered too,
#      until nothing changes. At run time conns.client[T] looks packages up by name through those
#      getters (the earlier trim crashed with "unknown service package: s3control"), so each
#      lookup finds its package, and a getter dropped by mistake is a compile error.
#
# Cache (outside the clone), keyed by module version and service set:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/streaming-pipeline/providers-builds/
#     <label>-<set hash>/          trimmed build (<label>-full-<recipe hash>/ for AWS_PROVIDER_FULL=1)
#       mirror/registry.terraform.io/hashicorp/aws/<label>/<os>_<arch>/terraform-provider-aws_v<label>
#       mirror/registry.opentofu.org/hashicorp/aws/<label>/<os>_<arch> -> ../../../../registry.terraform.io/...
#       build-stats.txt  services.txt  getters.txt  .complete
#     index/<go version>.trim-v<N>.json  type -> package index of that provider source
#     closures/<go version>/<hash>.json  closed set for a set of root packages (so a cached run needs
#                                    neither the source nor go)
# <repo>/.tools/tofurc points its filesystem_mirror at the build of the CURRENT service set, so a
# component that adds a resource of a new service rebuilds by itself on the next run.
#
# Lock files: components/*/.terraform.lock.hcl record the provider package's h1: hash. It is
# stable for one service set (the build is reproducible); when the set changes, the lock files
# (and .terraform/providers) of components in this clone that do not record the current hash are
# removed, so the next `tofu init` records the new one instead of failing with a checksum mismatch.
#
# A second run with everything cached touches no network and runs no `go` command.
#
# Environment knobs:
#   AWS_PROVIDER_FULL=1         build every service package (untrimmed; ~45 min, ~9 GiB)
#   AWS_PROVIDER_SYNTH=0        do not run `npm run synth`; require components/*/main.tf.json
#   AWS_PROVIDER_VERSION        version label used in the mirror and the binary (default 6.47.1)
#   AWS_PROVIDER_GO_VERSION     Go module version to download (default: the pinned pseudo-version)
#   AWS_PROVIDER_BUILD_P        go build -p (default 2)
#   AWS_PROVIDER_TIMEOUT_MIN    abort the build after this many minutes (default 60)
#   AWS_PROVIDER_MAX_RSS_GIB    abort when the build's process tree exceeds this RSS (default 20)
#   AWS_PROVIDER_FORCE=1        rebuild even if the cached binary exists
#   AWS_PROVIDER_CACHED_ONLY=1  never build: exit 3 when the provider is not cached
#
# Which version: the provider's module path has no /v6 suffix, so its v6.x tags are not Go module
# versions; only pseudo-versions (v1.60.1-0.<time>-<commit>) of commits are. The Go proxy reachable
# here serves only the pseudo-version pinned below, a main-branch commit whose version/VERSION
# reads 6.47.1. Override both variables together to build another commit:
#   AWS_PROVIDER_VERSION=6.25.0 AWS_PROVIDER_GO_VERSION=v1.60.1-0.<ts>-<sha> scripts/build-aws-provider.sh
set -euo pipefail

VER="${AWS_PROVIDER_VERSION:-6.47.1}"
VER="${VER#v}"
GO_VER="${AWS_PROVIDER_GO_VERSION:-v1.60.1-0.20260602190131-5f2286d6d836}"
MODULE="github.com/hashicorp/terraform-provider-aws"
BUILD_P="${AWS_PROVIDER_BUILD_P:-2}"
TIMEOUT_MIN="${AWS_PROVIDER_TIMEOUT_MIN:-60}"
MAX_RSS_GIB="${AWS_PROVIDER_MAX_RSS_GIB:-20}"
FULL="${AWS_PROVIDER_FULL:-0}"
LDFLAGS="-s -w -X $MODULE/version.ProviderVersion=$VER"
# Anything that changes the binary for the same service set goes into the cache key. Bump
# TRIM_V when tools/aws-provider/service-set.mjs changes what it indexes or keeps.
TRIM_V=1
RECIPE="module=$MODULE@$GO_VER label=$VER ldflags=$LDFLAGS flags=-trimpath,CGO_ENABLED=0,-buildvcs=false trim=v$TRIM_V"
# Patches to the provider source (tools/aws-provider/*.patch, name order, `patch -p1 --fuzz=0`:
# a hunk that does not apply exactly fails the build). Their contents key the build (SET_ID),
# not the closure: they change no registration. tools/aws-provider/README.md says what each does.
shopt -s nullglob
PATCHES=("$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"/tools/aws-provider/*.patch)
shopt -u nullglob
PATCH_KEY="$(for f in "${PATCHES[@]}"; do printf '%s ' "$(basename "$f")"; sha256sum <"$f"; done | sha256sum | cut -c1-12)"
PATCH_NAMES="$(for f in "${PATCHES[@]}"; do basename "$f"; done | tr '\n' ' ')"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/streaming-pipeline"
BUILDS="$CACHE_ROOT/providers-builds"
HELPER="$ROOT/tools/aws-provider/service-set.mjs"
TOFURC="$ROOT/.tools/tofurc"
RECORD="$ROOT/.tools/aws-provider.txt"

log() { printf '[build-aws-provider] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

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
short_hash() { sha256sum | cut -c1-"$1"; }

mkdir -p "$BUILDS"
WORK=""
SAMPLER_PID=""
cleanup() {
  if [[ -n "$SAMPLER_PID" ]]; then kill "$SAMPLER_PID" 2>/dev/null || true; fi
  if [[ -n "$WORK" ]]; then
    chmod -R u+w "$WORK" 2>/dev/null || true
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

# ---- go-side helpers (only reached when something is not cached) ---------------------------------
SRC_DIR=""
not_cached() {
  log "AWS provider $VER: $1 is not cached (and AWS_PROVIDER_CACHED_ONLY=1: not building it)"
  exit 3
}
go_env() {
  command -v go >/dev/null || die "go is not on PATH (needed to build the AWS provider)"
  export GOTOOLCHAIN=local CGO_ENABLED=0
  export GOFLAGS="-buildvcs=false -mod=mod"
}
# Download the module (once) and copy it to a writable work folder: $WORK/src.
prepare_source() {
  [[ -n "$WORK" && -d "$WORK/src" ]] && return 0
  [[ "${AWS_PROVIDER_CACHED_ONLY:-0}" == 1 ]] && not_cached "the service set's index or closure"
  go_env
  WORK="$(mktemp -d "$BUILDS/.work.XXXXXX")"
  log "downloading module $MODULE@$GO_VER from the Go module proxy (label $VER)"
  if ! go mod download -json "$MODULE@$GO_VER" >"$WORK/download.json" 2>"$WORK/download.err"; then
    log "ERROR: the Go module proxy did not serve $MODULE@$GO_VER:"
    sed 's/^/    /' "$WORK/download.err" "$WORK/download.json" >&2 || true
    exit 2
  fi
  SRC_DIR="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' "$WORK/download.json")"
  [[ -n "$SRC_DIR" && -d "$SRC_DIR" ]] || die "go mod download gave no Dir"
  log "module source: $SRC_DIR (version/VERSION says $(cat "$SRC_DIR/version/VERSION" 2>/dev/null || echo '?'))"
  cp -r "$SRC_DIR" "$WORK/src"
  chmod -R u+w "$WORK/src"
}

# ---- 1. the service set (no go, no network when the index and the closure are cached) ------------
INDEX="$BUILDS/index/$GO_VER.trim-v$TRIM_V.json"
if [[ "$FULL" == 1 ]]; then
  SET_ID="full-$(printf '%s\n%s\n' "$RECIPE" "$PATCH_KEY" | short_hash 8)"
  PACKAGES="(all)"
else
  command -v node >/dev/null || die "node is not on PATH (needed to read components/*/main.tf.json)"
  if [[ "${AWS_PROVIDER_SYNTH:-1}" != 0 ]]; then
    [[ -d "$ROOT/node_modules" ]] || die "node_modules missing: run npm ci (scripts/bootstrap.sh) or set AWS_PROVIDER_SYNTH=0 with main.tf.json present"
    log "npm run synth (the service set comes from components/*/main.tf.json)"
    (cd "$ROOT" && npm run --silent synth >/dev/null)
  fi
  TYPES="$(node "$HELPER" types "$ROOT")"
  if [[ ! -f "$INDEX" ]]; then
    prepare_source
    mkdir -p "$(dirname "$INDEX")"
    node "$HELPER" index "$WORK/src" "$INDEX.tmp" && mv -f "$INDEX.tmp" "$INDEX"
    log "indexed the provider's registrations: $INDEX"
  fi
  ROOTS="$(node "$HELPER" roots "$INDEX" <(printf '%s\n' "$TYPES"))"
  ROOT_KEY="$(printf '%s\n%s\n' "$RECIPE" "$ROOTS" | short_hash 16)"
  CLOSURE="$BUILDS/closures/$GO_VER/$ROOT_KEY.json"
  if [[ ! -f "$CLOSURE" ]]; then
    prepare_source
    log "closing the service set over the client getters ($(wc -w <<<"$ROOTS") root packages)"
    # shellcheck disable=SC2086 # one package name per word
    (cd "$WORK/src" && node "$HELPER" close "$WORK/src" "$INDEX" $ROOTS) >"$WORK/closure.json"
    CLOSED_IN_WORK=1 # this copy is now trimmed to it
    mkdir -p "$(dirname "$CLOSURE")"
    mv -f "$WORK/closure.json" "$CLOSURE"
  fi
  read_closure() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[process.argv[2]].join(" "))' "$CLOSURE" "$1"; }
  PACKAGES="$(read_closure packages)"
  GETTERS="$(read_closure getters)"
  if ((${#PATCHES[@]})); then
    SET_ID="$(printf '%s\n%s\npatches=%s\n' "$RECIPE" "$PACKAGES" "$PATCH_KEY" | short_hash 12)"
  else
    SET_ID="$(printf '%s\n%s\n' "$RECIPE" "$PACKAGES" | short_hash 12)"
  fi
fi

BUILD_DIR="$BUILDS/$VER-$SET_ID"
MIRROR="$BUILD_DIR/mirror"
PKG_DIR="$MIRROR/registry.terraform.io/hashicorp/aws/$VER/$OS_ARCH"
BIN_NAME="terraform-provider-aws_v$VER"
BIN="$PKG_DIR/$BIN_NAME"

# h1: hash of an unpacked provider package = what OpenTofu records in .terraform.lock.hcl
# (Go dirhash "Hash1": base64 of sha256 over "<sha256 hex>  <file name>\n" per file, sorted).
h1_hash() {
  local sum
  sum="$(sha256sum "$BIN" | cut -d' ' -f1)"
  printf 'h1:%s' "$(printf '%s  %s\n' "$sum" "$BIN_NAME" | sha256sum | cut -d' ' -f1 | xxd -r -p | base64)"
}

# ---- 2. point the clone at the build -----------------------------------------------------------------
install_into_clone() {
  local h1 lock dir stale=0
  h1="$(h1_hash)"
  mkdir -p "$(dirname "$TOFURC")"
  cat >"$TOFURC.tmp" <<EOF
# Written by scripts/build-aws-provider.sh: provider installation from the local filesystem
# mirror only for hashicorp/aws (built from source with the services of components/*, no
# registry here). Point OpenTofu at it with TF_CLI_CONFIG_FILE (scripts/env.sh does).
# Build: $BUILD_DIR ($h1)
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
  # Lock files recording another build of hashicorp/aws would fail `tofu init` with a checksum
  # mismatch: drop them (and the installed package link) so init records this build's hash.
  for lock in "$ROOT"/components/*/.terraform.lock.hcl; do
    [[ -f "$lock" ]] || continue
    grep -q 'hashicorp/aws"' "$lock" || continue
    grep -qF "\"$h1\"" "$lock" && continue
    dir="$(dirname "$lock")"
    rm -f "$lock"
    rm -rf "$dir/.terraform/providers"
    stale=$((stale + 1))
  done
  ((stale == 0)) || log "removed $stale component lock file(s) recording another AWS provider build (next tofu init records $h1)"
  cat >"$RECORD.tmp" <<EOF
# Written by scripts/build-aws-provider.sh: the AWS provider build this clone uses.
label=$VER
module=$MODULE@$GO_VER
set=$SET_ID
binary=$BIN
mirror=$MIRROR
h1=$h1
services=$PACKAGES
patches=$PATCH_NAMES
EOF
  mv -f "$RECORD.tmp" "$RECORD"
  log "wrote $TOFURC (mirror $MIRROR, $h1)"
}

if [[ "${AWS_PROVIDER_FORCE:-0}" != 1 && -f "$BUILD_DIR/.complete" && -x "$BIN" ]]; then
  log "AWS provider $VER ($SET_ID: $PACKAGES) cached at $BIN (no network, no go)"
  install_into_clone
  exit 0
fi

[[ "${AWS_PROVIDER_CACHED_ONLY:-0}" == 1 ]] && not_cached "build $SET_ID ($BIN)"

# ---- 3. build ---------------------------------------------------------------------------------------
# One build at a time per machine (parallel clones would otherwise each spend the CPU and RAM).
exec 9>"$BUILDS/.lock"
if ! flock -n 9; then
  log "another build of the AWS provider is running on this machine: waiting for it"
  flock 9
fi
if [[ "${AWS_PROVIDER_FORCE:-0}" != 1 && -f "$BUILD_DIR/.complete" && -x "$BIN" ]]; then
  log "AWS provider $VER ($SET_ID) was built meanwhile: $BIN"
  install_into_clone
  exit 0
fi

prepare_source
if [[ "$FULL" != 1 ]]; then
  if [[ "${CLOSED_IN_WORK:-0}" != 1 ]]; then
    # Trim this copy: the closure is recomputed (~10 s) and must match the recorded one.
    # shellcheck disable=SC2086
    got="$(cd "$WORK/src" && node "$HELPER" close "$WORK/src" "$INDEX" $ROOTS)"
    [[ "$got" == "$(cat "$CLOSURE")" ]] || die "closure differs from $CLOSURE: $got"
  fi
  log "service packages ($(wc -w <<<"$PACKAGES")): $PACKAGES"
  log "client getters kept ($(wc -w <<<"$GETTERS") of $(grep -c '^func (c \*AWSClient)' "$WORK/src/internal/conns/awsclient_gen.go.orig")): $GETTERS"
fi

for patch_file in "${PATCHES[@]}"; do
  log "applying $(basename "$patch_file")"
  patch -d "$WORK/src" -p1 --fuzz=0 --forward --batch --no-backup-if-mismatch <"$patch_file" >&2 \
    || die "$patch_file does not apply to $MODULE@$GO_VER"
done

# Peak RSS of the WHOLE build process tree (go + concurrent compile/link processes);
# /usr/bin/time only reports the largest single process. Also enforces the memory ceiling.
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
    sleep 1
  done
}

log "building $SET_ID (CGO_ENABLED=0, -trimpath, -p $BUILD_P, nice 19, timeout ${TIMEOUT_MIN}m, ceiling ${MAX_RSS_GIB} GiB, GOCACHE=$(go env GOCACHE))"
[[ "$FULL" == 1 ]] && log "FULL build of every service package: expect ~45 min of 2 cores and ~9 GiB"
start=$(date +%s.%N)
set +e
(
  cd "$WORK/src"
  exec setsid timeout --kill-after=30s "${TIMEOUT_MIN}m" \
    /usr/bin/time -v -o "$WORK/time.txt" \
    nice -n 19 go build -p "$BUILD_P" -trimpath -ldflags "$LDFLAGS" -o "$WORK/$BIN_NAME" .
) &
BUILD_PID=$!
sample_tree_rss "$BUILD_PID" "$WORK/peak_tree_kib" &
SAMPLER_PID=$!
wait "$BUILD_PID"
rc=$?
set -e
end=$(date +%s.%N)
wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=""

STATS="$WORK/build-stats.txt"
tv() { sed -n "s/^[[:space:]]*$1: //p" "$WORK/time.txt" 2>/dev/null; }
{
  echo "label=$VER"
  echo "module=$MODULE@$GO_VER"
  echo "set=$SET_ID"
  echo "services=$PACKAGES"
  echo "patches=$PATCH_NAMES"
  echo "go=$(go env GOVERSION) p=$BUILD_P gocache=$(go env GOCACHE)"
  echo "built_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "exit_code=$rc"
  awk -v s="$start" -v e="$end" 'BEGIN { printf "wall_seconds=%.1f\n", e - s }'
  u="$(tv 'User time (seconds)')" s="$(tv 'System time (seconds)')"
  [[ -n "$u" ]] && awk -v u="$u" -v s="$s" 'BEGIN { printf "cpu_seconds=%.1f (user %.1f + sys %.1f)\n", u + s, u, s }'
  [[ -n "$(tv 'Maximum resident set size (kbytes)')" ]] && echo "max_single_process_rss_kib=$(tv 'Maximum resident set size (kbytes)')"
  [[ -f "$WORK/peak_tree_kib" ]] && awk '{ printf "peak_process_tree_rss_kib=%d (%.2f GiB)\n", $1, $1 / 1048576 }' "$WORK/peak_tree_kib"
  [[ -f "$WORK/$BIN_NAME" ]] && echo "binary_bytes=$(stat -c %s "$WORK/$BIN_NAME") sha256=$(sha256sum "$WORK/$BIN_NAME" | cut -d' ' -f1)"
  [[ -f "$WORK/peak_tree_kib.abort" ]] && cat "$WORK/peak_tree_kib.abort"
  true
} >"$STATS"
log "build stats:"
sed 's/^/    /' "$STATS" >&2

if [[ $rc -ne 0 ]]; then
  ((rc == 124 || rc == 137)) && log "ERROR: build exceeded ${TIMEOUT_MIN} minutes"
  log "ERROR: go build failed (exit $rc)"
  cp "$STATS" "$BUILDS/$VER-$SET_ID.failed-build-stats.txt"
  exit "$rc"
fi

# Assemble the build folder next to its final place, then swap it in.
NEW="$WORK/build"
mkdir -p "$NEW/mirror/registry.terraform.io/hashicorp/aws/$VER/$OS_ARCH"
mv "$WORK/$BIN_NAME" "$NEW/mirror/registry.terraform.io/hashicorp/aws/$VER/$OS_ARCH/$BIN_NAME"
# OpenTofu resolves `hashicorp/aws` to registry.opentofu.org; Terraform-style addresses use
# registry.terraform.io. One copy serves both; OpenTofu's mirror scan does not follow symlinks
# above the <os>_<arch> level, so the alias is a symlink of that folder.
mkdir -p "$NEW/mirror/registry.opentofu.org/hashicorp/aws/$VER"
ln -s "../../../../registry.terraform.io/hashicorp/aws/$VER/$OS_ARCH" "$NEW/mirror/registry.opentofu.org/hashicorp/aws/$VER/$OS_ARCH"
# Stats live beside (not inside) the mirror: OpenTofu scans every entry under it.
cp "$STATS" "$NEW/build-stats.txt"
printf '%s\n' $PACKAGES >"$NEW/services.txt"
[[ "$FULL" == 1 ]] || printf '%s\n' $GETTERS >"$NEW/getters.txt"
touch "$NEW/.complete"
if [[ -d "$BUILD_DIR" ]]; then
  chmod -R u+w "$BUILD_DIR" 2>/dev/null || true
  rm -rf "$BUILD_DIR"
fi
mv "$NEW" "$BUILD_DIR"
log "installed $BIN ($(du -h "$BIN" | cut -f1))"
install_into_clone
