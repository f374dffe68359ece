# Sourced by the ci/ scripts that run Python peers: one virtualenv per pin file, rebuilt only
# when the pins, the interpreter or the caller's layout version change, built under a lock so
# concurrent runs wait for one build.
#
#   pinned_venv VENV REQUIREMENTS PYTHON PROGRAM LAYOUT_VERSION
#
# PROGRAM is a file under VENV/bin/ whose presence says the install finished. Logs through the
# caller's `log`; returns non-zero when the build fails.
# shellcheck shell=bash

pinned_venv() {
  local venv=$1 req=$2 python=$3 program=$4 layout=$5
  local base py_version want_hash
  base="$(dirname "$venv")"
  mkdir -p "$base"
  py_version="$("$python" -c 'import sys; print(sys.version.split()[0])')"
  want_hash="$( { echo "layout=$layout"; echo "python=$py_version"; cat "$req"; } | sha256sum | cut -d' ' -f1)"
  (
    exec 9>"$base/.venv.lock"
    flock -n 9 || { log "waiting for another run building the venv"; flock 9; }
    marker="$venv/.sigstack-requirements.sha256"
    if [ -x "$venv/bin/$program" ] && [ -f "$marker" ] && [ "$(cat "$marker")" = "$want_hash" ]; then
      exit 0
    fi
    rm -rf "$venv"
    log "creating $venv ($python $py_version) from $(basename "$req")"
    "$python" -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$req" >&2
    "$venv/bin/python" -m pip check >&2
    echo "$want_hash" > "$marker"
  )
}
