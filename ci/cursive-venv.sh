#!/usr/bin/env bash
# Create (idempotently) the Python virtualenv that runs the real OpenStack
# cursive 0.3.1 as a differential oracle (see ci/cursive_oracle.py).
#
# Usage: ci/cursive-venv.sh [current|legacy]      (default: current)
#
#   current  cryptography >= 47 (pinned in ci/cursive-requirements-current.txt):
#            key types DSA, ECC_SECP384R1, ECC_SECP521R1, RSA-PSS
#   legacy   cryptography < 47 (pinned in ci/cursive-requirements-legacy.txt):
#            additionally ECC_SECT571K1, ECC_SECT409K1, ECC_SECT571R1, ECC_SECT409R1
#
# The venv lives at <repo>/target/cursive/<profile>. A marker file inside it
# records a hash of the requirements file, the base interpreter version and
# this script's layout version; if it matches, nothing is done. Concurrent
# invocations are serialised with flock(1) on target/cursive/.<profile>.lock.
#
# Progress goes to stderr. The LAST line on stdout is the venv's python path.
#
# Environment:
#   CURSIVE_PYTHON   base interpreter used to create the venv (default: python3)
set -euo pipefail

LAYOUT_VERSION=1

profile="${1:-current}"
case "$profile" in
  current|legacy) ;;
  *) echo "usage: $0 [current|legacy]" >&2; exit 2 ;;
esac

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/.." && pwd)"
req="$script_dir/cursive-requirements-$profile.txt"
base="$repo_root/target/cursive"
venv="$base/$profile"
marker="$venv/.sigstack-requirements.sha256"
lock="$base/.$profile.lock"
base_python="${CURSIVE_PYTHON:-python3}"

log() { echo "cursive-venv[$profile]: $*" >&2; }

[ -f "$req" ] || { log "missing requirements file $req"; exit 1; }
command -v "$base_python" >/dev/null 2>&1 || { log "base interpreter '$base_python' not found"; exit 1; }
command -v flock >/dev/null 2>&1 || { log "flock(1) not found (util-linux)"; exit 1; }

py_version="$("$base_python" -c 'import sys; print(sys.version.split()[0])')"
want_hash="$( { echo "layout=$LAYOUT_VERSION"; echo "python=$py_version"; cat "$req"; } | sha256sum | cut -d' ' -f1)"

mkdir -p "$base"
exec 9>"$lock"
if ! flock -n 9; then
  log "waiting for another process building this venv (lock $lock)"
  flock 9
fi

if [ -x "$venv/bin/python" ] && [ -f "$marker" ] && [ "$(cat "$marker")" = "$want_hash" ]; then
  log "up to date ($venv)"
else
  start=$(date +%s)
  if [ -e "$venv" ]; then
    log "requirements changed or venv incomplete: rebuilding $venv"
    rm -rf "$venv"
  fi
  log "creating venv with $base_python ($py_version)"
  "$base_python" -m venv "$venv" >&2
  log "installing pinned requirements from ${req#"$repo_root"/}"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      --no-input -r "$req" >&2
  "$venv/bin/python" -m pip check >&2
  # Smoke test: the import must work and report the pinned cursive version.
  "$venv/bin/python" -W ignore -c '
import importlib.metadata as m, sys
import cryptography, castellan.key_manager  # noqa: F401
from cursive import signature_utils, certificate_utils  # noqa: F401
v = m.version("cursive")
if v != "0.3.1":
    sys.exit("unexpected cursive version %s" % v)
print("cursive %s, cryptography %s, key types %s" % (
    v, cryptography.__version__,
    sorted(signature_utils.SignatureKeyType.REGISTERED_TYPES)), file=sys.stderr)
' >&2
  echo "$want_hash" > "$marker"
  log "ready in $(( $(date +%s) - start ))s"
fi

echo "$venv/bin/python"
