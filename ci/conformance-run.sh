# Sourced by ci/conformance-serve.sh and ci/conformance-realstack.sh: one `sigstack
# conformance` run. Needs $bin (the sigstack binary), $work (a directory) and $prefix (the
# caller's log prefix). `conformance_run LABEL ARGS...` writes $work/LABEL.{out,err} and the
# reports where ARGS say. Exit 1 (a scenario failed) is a result to compare; 2 or more means
# the run itself is broken, and the caller stops.
conformance_run() {
  local label="$1"; shift
  local rc=0
  "$bin" conformance "$@" >"$work/$label.out" 2>"$work/$label.err" || rc=$?
  if [ "$rc" -gt 1 ]; then
    echo "$prefix: run $label failed to run (exit $rc):" >&2
    cat "$work/$label.out" "$work/$label.err" >&2
    exit 1
  fi
  echo "$prefix: run $label: $(tail -n 1 "$work/$label.out")" >&2
}
