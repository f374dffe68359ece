#!/usr/bin/env bash
# Short fuzz run of every parser of outside input (harness/fuzz, cargo-fuzz + libFuzzer):
# signature properties, certificates, DER signatures, Barbican secret payloads, clouds.yaml and
# Glance's JSON patch. Each target starts from its committed seed corpus
# (harness/fuzz/corpus/<target>/) and runs for SIGSTACK_FUZZ_SECONDS (default 20); new inputs go
# to target/fuzz-corpus/<target>/, never into the committed corpus. Any crash, panic, failed
# assertion, timeout or out-of-memory fails the script, naming the reproducer
# (harness/fuzz/artifacts/<target>/) and the command that replays it.
#
# There is no nightly toolchain here: cargo-fuzz's nightly-only flags (-Zsanitizer, ...) are
# accepted by stable rustc with RUSTC_BOOTSTRAP=1. The sanitizer is `none` by default (the
# targets are safe Rust; a panic or failed assertion is what they look for, and the build is
# much faster); SIGSTACK_FUZZ_SANITIZER=address builds with AddressSanitizer instead.
#
# Knobs: SIGSTACK_FUZZ_SECONDS, SIGSTACK_FUZZ_JOBS (targets run at once; default: the number
# of CPUs, at most 2), SIGSTACK_FUZZ_SANITIZER, SIGSTACK_FUZZ_TARGETS (space-separated subset).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${SIGSTACK_FUZZ_SECONDS:-20}
sanitizer=${SIGSTACK_FUZZ_SANITIZER:-none}
cpus=$(nproc 2>/dev/null || echo 1)
jobs=${SIGSTACK_FUZZ_JOBS:-$((cpus < 2 ? cpus : 2))}
fuzz_dir=harness/fuzz
all_targets=(signature_properties certificate der_signature barbican_payload clouds_yaml glance_patch)
read -r -a targets <<<"${SIGSTACK_FUZZ_TARGETS:-${all_targets[*]}}"
cargo_fuzz_version=0.13.2

started=$(date +%s)
log() { echo "ci/fuzz.sh: $*" >&2; }

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  log "installing cargo-fuzz $cargo_fuzz_version from crates.io"
  cargo install cargo-fuzz --locked --version "$cargo_fuzz_version"
fi

export RUSTC_BOOTSTRAP=1
# Same flags for build and replay hints: -O (release), the sanitizer, 16 codegen units (a
# from-scratch build on 2 cores is most of this script's time).
fuzz_flags=(-O -s "$sanitizer" --codegen-units 16 --fuzz-dir "$fuzz_dir")

# The fuzz crate is outside the main workspace, so `cargo fmt --all` does not see it.
cargo fmt --manifest-path "$fuzz_dir/Cargo.toml" --check

log "building ${#targets[@]} targets (sanitizer: $sanitizer)"
build_start=$(date +%s)
cargo fuzz build "${fuzz_flags[@]}"
log "build took $(($(date +%s) - build_start)) s"

bin_dir=$fuzz_dir/target/x86_64-unknown-linux-gnu/release
logs=target/fuzz-logs
mkdir -p "$logs"

run_target() {
  local t=$1 scratch=target/fuzz-corpus/$1 artifacts=$fuzz_dir/artifacts/$1/
  mkdir -p "$scratch" "$artifacts"
  # The first corpus directory receives new inputs; the committed seeds are only read.
  "$bin_dir/$t" "$scratch" "$fuzz_dir/corpus/$t" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$artifacts" >"$logs/$t.log" 2>&1
}

declare -A pid_of=()
status=0
failed=()
wait_one() {
  local done_pid t rc=0
  wait -n -p done_pid || rc=$?
  for t in "${!pid_of[@]}"; do
    if [ "${pid_of[$t]}" = "$done_pid" ]; then
      unset "pid_of[$t]"
      if [ "$rc" -ne 0 ]; then
        failed+=("$t")
        status=1
      fi
    fi
  done
}

runs_start=$(date +%s)
for t in "${targets[@]}"; do
  [ -f "$fuzz_dir/fuzz_targets/$t.rs" ] || { log "no such target: $t"; exit 2; }
  while [ "${#pid_of[@]}" -ge "$jobs" ]; do wait_one; done
  log "fuzzing $t for ${seconds} s"
  run_target "$t" &
  pid_of[$t]=$!
done
while [ "${#pid_of[@]}" -gt 0 ]; do wait_one; done
runs_took=$(($(date +%s) - runs_start))

printf '%-22s %12s %8s %8s %8s\n' target executions exec/s coverage corpus >&2
for t in "${targets[@]}"; do
  stat_of() { sed -n "s/^stat::$1: *//p" "$logs/$t.log" | tail -1; }
  cov=$(grep -o 'cov: [0-9]*' "$logs/$t.log" | tail -1 | cut -d' ' -f2)
  corpus=$(find "target/fuzz-corpus/$t" -type f | wc -l)
  printf '%-22s %12s %8s %8s %8s\n' "$t" "$(stat_of number_of_executed_units)" "$(stat_of average_exec_per_sec)" "${cov:--}" "$corpus" >&2
done

for t in "${failed[@]}"; do
  log "FAILED: $t (log: $logs/$t.log); its last lines:"
  tail -n 40 "$logs/$t.log" >&2
  for a in "$fuzz_dir"/artifacts/"$t"/*; do
    [ -f "$a" ] || continue
    log "reproducer: $a; replay with: RUSTC_BOOTSTRAP=1 cargo fuzz run ${fuzz_flags[*]} $t $a"
  done
done

log "${#targets[@]} targets, ${seconds} s each, $jobs at a time: runs ${runs_took} s, total $(($(date +%s) - started)) s"
if [ "$status" -ne 0 ]; then
  log "${#failed[@]} of ${#targets[@]} targets failed: ${failed[*]}"
fi
exit "$status"
