#!/usr/bin/env bash
# Applies tools/moto/*.patch (name order) to the moto installed in a virtualenv, and checks they
# are applied (see tools/moto/README.md for what each one does and why).
#
#   bash tools/moto/apply-patches.sh [VENV]          apply (default VENV: <repo>/.tools/venv)
#   bash tools/moto/apply-patches.sh --check [VENV]  only check; exit 1 naming what is missing
#
# Idempotent: VENV/.moto-patches-sum records the patch set applied. Same set: every patch is
# checked to be in place (patch --reverse --dry-run) and nothing is written. Another set (a patch
# was edited, added or removed): moto is first reinstalled at the pinned version
# (tools/requirements-moto.txt, pip --no-deps --force-reinstall), so patches are always applied
# to pristine sources. A rebuilt venv (scripts/bootstrap.sh) has no record and gets them applied.
# A hunk that does not apply exactly (patch --fuzz=0) is an error, never skipped.
set -euo pipefail
LOG_TAG=moto-patches
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"

check_only=0
if [[ "${1:-}" == --check ]]; then
  check_only=1
  shift
fi
VENV="${1:-$ROOT/.tools/venv}"
[[ -x "$VENV/bin/python" ]] || die "no virtualenv at $VENV (run scripts/bootstrap.sh)"
SITE="$("$VENV/bin/python" -c 'import os, moto; print(os.path.dirname(os.path.dirname(moto.__file__)))')" \
  || die "moto is not installed in $VENV"
MOTO_PIN="$(grep -E '^moto==' "$ROOT/tools/requirements-moto.txt")" || die "no moto== pin in tools/requirements-moto.txt"

shopt -s nullglob
patches=("$ROOT"/tools/moto/*.patch)
shopt -u nullglob
want="$(for f in "${patches[@]}"; do printf '%s ' "$(basename "$f")"; sha256sum <"$f"; done | sha256sum | cut -d' ' -f1)"
record="$VENV/.moto-patches-sum"

# Every patch in place: its reverse applies exactly.
applied() {
  local f
  for f in "${patches[@]}"; do
    patch -d "$SITE" -p1 --reverse --dry-run --fuzz=0 --batch --silent <"$f" >/dev/null 2>&1 || {
      echo "$(basename "$f")"
      return 1
    }
  done
}

if [[ -f "$record" && "$(cat "$record")" == "$want" ]]; then
  missing="$(applied)" || die "$missing is recorded as applied to $SITE/moto but is not in place: rebuild the venv (rm -rf $VENV; bash scripts/bootstrap.sh)"
  log "${#patches[@]} patch(es) in place ($MOTO_PIN, $SITE)"
  exit 0
fi
((check_only)) && die "the moto in $VENV is not patched with tools/moto/*.patch: run bash tools/moto/apply-patches.sh (or scripts/bootstrap.sh)"

if [[ -f "$record" ]]; then
  log "the patch set changed: reinstalling $MOTO_PIN to start from pristine sources"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps --force-reinstall "$MOTO_PIN"
fi
rm -f "$record"
for f in "${patches[@]}"; do
  log "applying $(basename "$f")"
  patch -d "$SITE" -p1 --forward --fuzz=0 --batch --no-backup-if-mismatch <"$f" >&2 \
    || die "$(basename "$f") does not apply to $MOTO_PIN in $SITE (a changed moto pin needs the patches refreshed)"
done
missing="$(applied)" || die "$missing did not end up in place"
echo "$want" >"$record"
log "${#patches[@]} patch(es) applied to $MOTO_PIN ($SITE)"
