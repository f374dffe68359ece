#!/usr/bin/env bash
# The conformance suite against REAL Keystone, Barbican and Glance (`ci/realstack`, from PyPI,
# on loopback), compared scenario by scenario with the embedded simulated cloud. Scenarios the
# real stack cannot run (Nova, Cinder, the /_sim/ control API) are skipped there with their
# reason and left out of the comparison; every other one must have the same result, and the
# real-stack run is certified (no failure, no @required scenario skipped).
#
# The real services serve HTTPS under a CA the run makes (`REALSTACK_TLS=1 ci/realstack start`;
# every cloud of its clouds.yaml has `cacert`), and the suite's demo user is the demo user's
# application credential (cloud realstack-appcred): the up-front check and every scenario's
# model of "demo" authenticate with it. Before the suite, `sigstack audit` (token, catalog, a
# Glance listing) checks two more auth paths against real Keystone: the application credential
# by name with its user, and an auth URL without /v3 (version discovery).
# REALSTACK_TLS=0 runs the same over plain HTTP.
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

REALSTACK_TLS="${REALSTACK_TLS:-1}" bash ci/realstack start >"$work/realstack.log" 2>&1 ||
  { tail -n 40 "$work/realstack.log" >&2; exit 1; }
echo "conformance-realstack: $(tail -n 1 "$work/realstack.log")" >&2
clouds=target/realstack/clouds.yaml

for cloud in realstack-appcred-by-name realstack-unversioned; do
  if ! OS_CLIENT_CONFIG_FILE="$clouds" OS_CLOUD='' "$bin" audit --cloud "$cloud" --format json \
    >"$work/audit-$cloud.out" 2>&1; then
    echo "conformance-realstack: sigstack audit --cloud $cloud failed against the real services:" >&2
    cat "$work/audit-$cloud.out" >&2
    exit 1
  fi
done
echo "conformance-realstack: authenticated to real Keystone with the application credential by name and through version discovery" >&2

prefix=conformance-realstack
# shellcheck source=ci/conformance-run.sh
. ci/conformance-run.sh
OS_CLIENT_CONFIG_FILE="$clouds" OS_CLOUD='' conformance_run realstack --certified \
  --cloud realstack-appcred --capabilities target/realstack/capabilities-appcred.yaml \
  --report-dir "$work/realstack"
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
