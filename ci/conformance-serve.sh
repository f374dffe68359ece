#!/usr/bin/env bash
# The conformance suite two ways, which must agree scenario by scenario:
#   A. against `sigstack serve` as a real cloud would be tested: clouds.yaml + capability file;
#   B. against the embedded simulated cloud (`sigstack conformance` with no cloud).
# Results are compared by each scenario's @id in cucumber.json. A difference means the suite
# depends on running in-process (or the server differs from the embedded cloud), which would
# make vendor results against real clouds meaningless.
#
# Usage: ci/conformance-serve.sh   (the reports stay in the printed directory on failure)
# Last line: "conformance-serve: N scenarios identical, M differ".
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet -p sigstack-cli
bin="${CARGO_TARGET_DIR:-target}/debug/sigstack"

work="$(mktemp -d "${TMPDIR:-/tmp}/conformance-serve.XXXXXX")"
echo "conformance-serve: working in $work (kept if the comparison fails)" >&2
server_pid=""
finish() {
  status=$?
  # Stop the server we started (by its pid only) and wait, so its port and files are free.
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  # On failure the reports and logs stay for inspection (the path was printed at the start).
  if [ "$status" -eq 0 ]; then rm -rf "$work"; fi
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM

# The server on loopback; it prints `key: value` lines, then `ready`.
"$bin" serve --data-dir "$work/data" >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
for _ in $(seq 1 600); do
  grep -qx ready "$work/serve.out" 2>/dev/null && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "conformance-serve: sigstack serve exited before ready:" >&2
    cat "$work/serve.err" >&2
    server_pid=""
    exit 1
  fi
  sleep 0.1
done
grep -qx ready "$work/serve.out" || { echo "conformance-serve: sigstack serve not ready after 60 s" >&2; exit 1; }
value() { sed -n "s/^$1: //p" "$work/serve.out" | head -n 1; }
clouds_yaml="$(value clouds-yaml)"
capabilities="$(value capabilities)"
[ -n "$clouds_yaml" ] || { echo "conformance-serve: serve printed no clouds-yaml line" >&2; exit 1; }

if [ -z "$capabilities" ] || [ ! -f "$capabilities" ]; then
  # An older serve: map the clouds it lists to suite users. Only what is certain about any
  # `sigstack serve` is declared; undeclared capabilities count as false.
  capabilities="$work/capabilities.yaml"
  {
    echo "users:"
    for cloud in $(value clouds); do
      user="${cloud#sigstack-}"
      [ "$user" = alt-demo ] && user=alt_demo
      echo "  $user: $cloud"
    done
    echo "capabilities:"
    echo "  admin_credentials: true"
    echo "  simulated_control: true"
  } >"$capabilities"
fi

prefix=conformance-serve
# shellcheck source=ci/conformance-run.sh
. ci/conformance-run.sh
OS_CLIENT_CONFIG_FILE="$clouds_yaml" conformance_run A --cloud sigstack-demo --capabilities "$capabilities" --report-dir "$work/A"
OS_CLOUD='' conformance_run B --report-dir "$work/B"

python3 ci/conformance-compare.py conformance-serve serve "$work/A/cucumber.json" embedded "$work/B/cucumber.json"
