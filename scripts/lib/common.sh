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
