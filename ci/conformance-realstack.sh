#!/usr/bin/env bash
# The conformance suite against REAL Keystone, Barbican and Glance (`ci/realstack`, from PyPI,
# on loopback), compared scenario by scenario with the embedded simulated cloud. Scenarios the
# real stack cannot run (Nova, Cinder, the /_sim/ control API) are skipped there with their
# reason and left out of the comparison; every other one must have the same result, and the
# real-stack run is certified (no failure, no @required scenario skipped).
#
# Usage: ci/conformance-realstack.sh   (reports kept in the printed directory on failure)
# Last line: "conformance-realstack: N scenarios identical, M differ".
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet -p sigstack-cli
bin="${CARGO_TARGET_DIR:-target}/debug/sigstack"
work="$(mktemp -d "${TMPDIR:-/tmp}/conformance-realstack.XXXXXX")"
echo "conformance-realstack: working in $work (kept if the comparison fails)" >&2
finish() {
  status=$?
  bash ci/realstack stop >/dev/null 2>&1 || true
  if [ "$status" -eq 0 ]; then rm -rf "$work"; fi
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM

bash ci/realstack start >"$work/realstack.log" 2>&1 || { tail -n 40 "$work/realstack.log" >&2; exit 1; }
echo "conformance-realstack: $(tail -n 1 "$work/realstack.log")" >&2

prefix=conformance-realstack
# shellcheck source=ci/conformance-run.sh
. ci/conformance-run.sh
OS_CLIENT_CONFIG_FILE=target/realstack/clouds.yaml conformance_run realstack --certified \
  --cloud realstack --capabilities target/realstack/capabilities.yaml --report-dir "$work/realstack"
OS_CLOUD='' conformance_run embedded --report-dir "$work/embedded"

rc=0
python3 ci/conformance-compare.py conformance-realstack realstack "$work/realstack/cucumber.json" \
  embedded "$work/embedded/cucumber.json" --ran-in-a || rc=$?
# The real-stack run is --certified: it passes only if no scenario failed and no @required one
# was skipped.
if ! grep -q '^PASS' "$work/realstack.out"; then
  echo "conformance-realstack: the certified run against the real services did not pass: $(tail -n 1 "$work/realstack.out")" >&2
  rc=1
fi
exit "$rc"
