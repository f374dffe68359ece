#!/usr/bin/env bash
# The conformance suite against REAL Keystone, Barbican, Glance, Nova and Cinder
# (`ci/realstack start --with compute,volume`, from PyPI and Debian, on loopback), compared
# scenario by scenario with the embedded simulated cloud. Scenarios the real stack cannot run
# (the /_sim/ control API, `@simulated`) are skipped there with their reason and left out of the
# comparison; every other one must have the same result or a recorded, explained difference
# (ci/conformance-realstack-differences.txt: `@id` and the reason), and the real-stack run is
# certified (no failure other than a recorded one, no @required scenario skipped).
#
# The embedded run gets the real stack's deployment (written to the work directory): Nova
# verifying signatures with certificate validation (REALSTACK_CERTIFICATE_VALIDATION, default
# 1), no default trusted certificates, ONE compute node (the real stack has one), Cinder
# verifying. REALSTACK_WITH empty (the default) runs Keystone/Barbican/Glance only, against the
# simulator's default deployment; REALSTACK_WITH=compute,volume (what CI runs) adds Nova and
# Cinder (7-9 minutes on 2 cores with warm venvs, KVM or TCG). With Nova
# and certificate validation on, a second pass then turns it off on the running stack (`ci/realstack certificate-validation 0`) and
# runs the scenarios written for that setting (`@optional:certificate_validation=false`),
# compared the same way with an embedded run of the same deployment without it.
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
# Last lines: "conformance-realstack: N scenarios identical, M differ" (and
# "conformance-realstack-nocv: ..." for the second pass).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet -p sigstack-cli
bin="${CARGO_TARGET_DIR:-target}/debug/sigstack"
work="$(mktemp -d "${TMPDIR:-/tmp}/conformance-realstack.XXXXXX")"
echo "conformance-realstack: working in $work (kept if the comparison fails)" >&2
finish() {
  status=$?
  local t_stop=$SECONDS
  bash ci/realstack stop >/dev/null 2>&1 || true
  echo "conformance-realstack: stopped the real services in $((SECONDS - t_stop)) s" >&2
  if [ "$status" -eq 0 ]; then rm -rf "$work"; fi
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM

with="${REALSTACK_WITH-}"
start_args=(start)
embedded_args=()
if [ -n "$with" ]; then
  start_args+=(--with "$with")
  cert_validation=false
  [ "${REALSTACK_CERTIFICATE_VALIDATION:-1}" = 1 ] && cert_validation=true
  sed "s/enable_certificate_validation: true/enable_certificate_validation: $cert_validation/" \
    ci/realstack.d/twin-deployment.yaml > "$work/deployment.yaml"
  embedded_args=(--deployment "$work/deployment.yaml")
fi
t_start=$SECONDS
REALSTACK_TLS="${REALSTACK_TLS:-1}" bash ci/realstack "${start_args[@]}" >"$work/realstack.log" 2>&1 ||
  { tail -n 40 "$work/realstack.log" >&2; exit 1; }
echo "conformance-realstack: $(tail -n 1 "$work/realstack.log") after $((SECONDS - t_start)) s" >&2
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
second_pass=0
if [[ ",$with," == *,compute,* ]] && [ "${REALSTACK_CERTIFICATE_VALIDATION:-1}" = 1 ]; then
  second_pass=1
  nocv_tags='@optional:certificate_validation=false'
  bash ci/realstack certificate-validation 0 >>"$work/realstack.log" 2>&1 ||
    { tail -n 20 "$work/realstack.log" >&2; exit 1; }
  OS_CLIENT_CONFIG_FILE="$clouds" OS_CLOUD='' conformance_run realstack-nocv --tags "$nocv_tags" \
    --cloud realstack-appcred --capabilities target/realstack/capabilities-appcred.yaml \
    --report-dir "$work/realstack-nocv"
fi
echo "conformance-realstack: real services run took $((SECONDS - t_start)) s (start and suite)" >&2
OS_CLOUD='' conformance_run embedded ${embedded_args[@]+"${embedded_args[@]}"} --report-dir "$work/embedded"
if [ "$second_pass" = 1 ]; then
  sed 's/enable_certificate_validation: true/enable_certificate_validation: false/' "$work/deployment.yaml" \
    > "$work/deployment-nocv.yaml"
  OS_CLOUD='' conformance_run embedded-nocv --deployment "$work/deployment-nocv.yaml" --tags "$nocv_tags" \
    --report-dir "$work/embedded-nocv"
fi

rc=0
python3 ci/conformance-compare.py conformance-realstack realstack "$work/realstack/cucumber.json" \
  embedded "$work/embedded/cucumber.json" --ran-in-a \
  --recorded ci/conformance-realstack-differences.txt --details "$work/differences.txt" || rc=$?
# The real-stack run is --certified: it passes only if no scenario failed and no @required one
# was skipped; a failure recorded in the differences file is the real service's answer.
if ! grep -q '^PASS' "$work/realstack.out" &&
  ! python3 ci/conformance-compare.py --only-recorded-failures "$work/realstack/cucumber.json" \
    ci/conformance-realstack-differences.txt; then
  echo "conformance-realstack: the certified run against the real services did not pass: $(tail -n 1 "$work/realstack.out")" >&2
  rc=1
fi
if [ "$second_pass" = 1 ]; then
  python3 ci/conformance-compare.py conformance-realstack-nocv realstack "$work/realstack-nocv/cucumber.json" \
    embedded "$work/embedded-nocv/cucumber.json" --ran-in-a \
    --recorded ci/conformance-realstack-differences.txt --details "$work/differences-nocv.txt" || rc=$?
  if ! grep -q '^PASS' "$work/realstack-nocv.out" &&
    ! python3 ci/conformance-compare.py --only-recorded-failures "$work/realstack-nocv/cucumber.json" \
      ci/conformance-realstack-differences.txt; then
    echo "conformance-realstack: the run without certificate validation did not pass: $(tail -n 1 "$work/realstack-nocv.out")" >&2
    rc=1
  fi
fi
exit "$rc"
