#!/usr/bin/env bash
# OpenStack Tempest 47.0.0 and barbican-tempest-plugin 4.6.0 (pinned in
# ci/tempest-requirements.txt, cached venv under target/tempest/venv) against `sigstack serve`,
# compared with ci/tempest-expected.txt. Deployments: the API groups on `upstream-defaults`;
# barbican-rbac on upstream-certificate-validation with Barbican's new policy defaults; the
# image-signing group on upstream-defaults with Nova verifying signatures, as the plugin's own
# gate job runs, with isolated networks on the simulated Neutron.
#
# Usage: bash ci/tempest.sh [--group NAME]... [--bin PATH] [--record]
#   --group   barbican-api, barbican-rbac, image-v2, identity-tokens, identity-v3, volume,
#             image-signing (default: all, in that order; the selections are in
#             ci/tempest/groups.py)
#   --bin     the sigstack binary (default: SIGSTACK_BIN, else `cargo build -p sigstack-cli`
#             and target/debug/sigstack)
#   --record  rewrite ci/tempest-expected.txt from this run (keeps `skip:` reasons, never turns
#             a `pass` into a skip)
# Each run starts its own serve (free ports, data dir under a mktemp -d; barbican-rbac on a
# second serve whose profile adds Barbican's enforce_new_defaults), writes tempest.conf from
# its clouds.yaml and catalog, and stops it on exit. Results: target/tempest/results/<group>.txt
# (`<id> pass|fail|skip`) and .log (failure traceback tails), target/tempest/failure-causes.md
# (failures grouped by cause). Exit 1 if a test marked `pass` did not pass.
# Environment: TEMPEST_PYTHON (base interpreter, default python3), TEMPEST_CONCURRENCY
# (workers, default 2), TEMPEST_KEEP=1 (keep the temp dir: serve logs, tempest.conf, tempest.log;
# kept anyway when the run fails).
set -euo pipefail
# The helpers under ci/tempest/ are imported: no __pycache__ in the source tree.
export PYTHONDONTWRITEBYTECODE=1

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$script_dir/.." && pwd)"
all_groups=(barbican-api barbican-rbac image-v2 identity-tokens identity-v3 volume image-signing)
want=()
bin="${SIGSTACK_BIN:-}"
record=0
while [ $# -gt 0 ]; do
  case "$1" in
    --group) [ $# -ge 2 ] || usage; want+=("$2"); shift 2 ;;
    --group=*) want+=("${1#--group=}"); shift ;;
    --bin) [ $# -ge 2 ] || usage; bin="$2"; shift 2 ;;
    --bin=*) bin="${1#--bin=}"; shift ;;
    --record) record=1; shift ;;
    -h|--help) usage ;;
    *) echo "tempest: unknown argument '$1'" >&2; usage ;;
  esac
done
for g in "${want[@]}"; do
  [[ " ${all_groups[*]} " == *" $g "* ]] || { echo "tempest: unknown group '$g' (groups: ${all_groups[*]})" >&2; exit 2; }
done
selected=()
for g in "${all_groups[@]}"; do
  if [ "${#want[@]}" -eq 0 ] || [[ " ${want[*]} " == *" $g "* ]]; then selected+=("$g"); fi
done
groups_csv="$(IFS=,; echo "${selected[*]}")"

log() { echo "tempest: $*" >&2; }
die() { log "$*"; exit 1; }
start_time=$(date +%s)
elapsed() { echo "$(( $(date +%s) - start_time ))s"; }

base_python="${TEMPEST_PYTHON:-python3}"
for tool in "$base_python" flock qemu-img; do
  command -v "$tool" >/dev/null 2>&1 || die "missing required tool '$tool'"
done

# --- The Tempest virtualenv, rebuilt only when the pins, the interpreter or this layout change.
LAYOUT_VERSION=1
req="$script_dir/tempest-requirements.txt"
base="$repo/target/tempest"
venv="$base/venv"
# shellcheck source=ci/pinned-venv.sh
. "$script_dir/pinned-venv.sh"
pinned_venv "$venv" "$req" "$base_python" tempest "$LAYOUT_VERSION" || die "could not build the tempest virtualenv"
log "venv ready at $(elapsed)"
py="$venv/bin/python"
# The comparison's own tests first (a second): a broken comparer must not pass CI.
"$py" "$script_dir/tempest/test_compare.py" -q 2> "$base/test_compare.log" \
  || { cat "$base/test_compare.log" >&2; die "ci/tempest/test_compare.py failed"; }

# --- The simulated cloud's binary.
if [ -z "$bin" ]; then
  log "building sigstack"
  (cd "$repo" && cargo build -q -p sigstack-cli) || die "cargo build -p sigstack-cli failed"
  bin="${CARGO_TARGET_DIR:-$repo/target}/debug/sigstack"
fi
[ -x "$bin" ] || die "no sigstack binary at $bin"

work="$(mktemp -d "${TMPDIR:-/tmp}/sigstack-tempest.XXXXXX")"
serve_pid=""
run_pid=""
list_pid=""
stop_serve() {
  if [ -n "$serve_pid" ] && kill -0 "$serve_pid" 2>/dev/null; then
    kill -TERM "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
  fi
  serve_pid=""
}
cleanup() {
  local status=$? pid
  for pid in "$run_pid" "$list_pid"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  stop_serve
  if [ "${TEMPEST_KEEP:-0}" = 1 ] || [ "$status" -ne 0 ]; then
    log "work directory kept: $work"
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_serve DIR DEPLOYMENT: a serve with its data in DIR/data (DIR/seed.json, when present,
# becomes its Keystone seed); sets serve_pid and clouds_yaml.
start_serve() {
  local dir=$1 deployment=$2
  mkdir -p "$dir/data"
  [ -f "$dir/seed.json" ] && cp "$dir/seed.json" "$dir/data/seed.json"
  "$bin" serve --data-dir "$dir/data" --deployment "$deployment" --log-level warn \
    > "$dir/serve.out" 2> "$dir/serve.err" &
  serve_pid=$!
  for _ in $(seq 1 600); do
    grep -qx ready "$dir/serve.out" 2>/dev/null && break
    kill -0 "$serve_pid" 2>/dev/null || { cat "$dir/serve.err" >&2; serve_pid=""; die "sigstack serve exited before 'ready'"; }
    sleep 0.1
  done
  grep -qx ready "$dir/serve.out" || die "sigstack serve not ready after 60 s"
  clouds_yaml="$(sed -n 's/^clouds-yaml: //p' "$dir/serve.out")"
}

# Tempest must see only its own configuration.
while IFS= read -r var; do unset "$var"; done < <(env | sed -n 's/^\(OS_[A-Za-z0-9_]*\)=.*/\1/p')
export OS_LOG_CAPTURE=1 OS_STDOUT_CAPTURE=1 OS_STDERR_CAPTURE=1 PYTHONWARNINGS=ignore

qemu-img create -q -f qcow2 "$work/image.qcow2" 1M
"$py" "$script_dir/tempest/prepare.py" profile \
  "$repo/harness/cloud/deployments/upstream-certificate-validation.yaml" "$work/rbac-profile.yaml"
"$py" "$script_dir/tempest/prepare.py" profile --kind scenario \
  "$repo/harness/cloud/deployments/upstream-defaults.yaml" "$work/scenario-profile.yaml"

# The variants (serve + tempest.conf) the selected groups need, in group order.
variants=()
for g in "${selected[@]}"; do
  v="$("$py" -c 'import sys; sys.path.insert(0, sys.argv[1]); import groups; print(groups.VARIANT[sys.argv[2]])' "$script_dir/tempest" "$g")"
  [[ " ${variants[*]} " == *" $v "* ]] || variants+=("$v")
done

subunits=()
tempest_logs=()
: > "$work/listed.txt"
for v in "${variants[@]}"; do
  vgroups=()
  for g in "${selected[@]}"; do
    gv="$("$py" -c 'import sys; sys.path.insert(0, sys.argv[1]); import groups; print(groups.VARIANT[sys.argv[2]])' "$script_dir/tempest" "$g")"
    [ "$gv" = "$v" ] && vgroups+=("$g")
  done
  dir="$work/$v"
  mkdir -p "$dir/run"
  # API groups: upstream defaults (tempest boots its unsigned image_ref, which a cloud verifying
  # signatures refuses, correctly).
  deployment=upstream-defaults
  [ "$v" = rbac ] && deployment="$work/rbac-profile.yaml"
  [ "$v" = scenario ] && deployment="$work/scenario-profile.yaml"
  start_serve "$dir/serve" "$deployment"
  rc=0
  "$py" "$script_dir/tempest/prepare.py" roles "$clouds_yaml" "$dir/seed.json" creator key-manager:service-admin || rc=$?
  if [ "$rc" = 3 ]; then
    stop_serve
    mkdir -p "$dir/serve2"
    mv "$dir/seed.json" "$dir/serve2/seed.json"
    start_serve "$dir/serve2" "$deployment"
    "$py" "$script_dir/tempest/prepare.py" roles "$clouds_yaml" "$dir/seed.json" creator key-manager:service-admin \
      || die "roles still missing after seeding them"
  elif [ "$rc" != 0 ]; then
    die "could not prepare Keystone's roles"
  fi
  "$py" "$script_dir/tempest/prepare.py" conf "$clouds_yaml" "$dir/tempest.conf" \
    --work "$dir" --image "$work/image.qcow2" --variant "$v"
  vcsv="$(IFS=,; echo "${vgroups[*]}")"
  regex="$("$py" -c 'import sys; sys.path.insert(0, sys.argv[1]); import groups; print(groups.regex_for(sys.argv[2].split(",")))' "$script_dir/tempest" "$vcsv")"
  exclude="$("$py" -c 'import sys; sys.path.insert(0, sys.argv[1]); import groups; print(groups.exclude_regex_for(sys.argv[2].split(",")))' "$script_dir/tempest" "$vcsv")"
  ex_args=()
  [ -n "$exclude" ] && ex_args=(--exclude-regex "$exclude")
  log "running ${vgroups[*]} (serve variant $v) at $(elapsed)"
  # The list (so tests whose class never set up still get a line) alongside the run.
  mkdir -p "$dir/list"
  # The .stestr.conf `tempest run --config-file` writes, and the repository listing wants.
  tp="$("$py" -c 'import os, tempest; print(os.path.dirname(tempest.__file__))')"
  printf '[DEFAULT]\ntest_path=%s/test_discover\ntop_dir=%s\ngroup_regex=([^\\.]*\\.)*\n' "$tp" "$tp" \
    > "$dir/list/.stestr.conf"
  (cd "$dir/list" && "$venv/bin/stestr" init >/dev/null && exec setsid "$venv/bin/tempest" run \
    --config-file "$dir/tempest.conf" --regex "$regex" "${ex_args[@]}" --list-tests \
    > "$dir/listed.txt" 2> "$dir/list.err") &
  list_pid=$!
  # Own process groups (setsid), so the trap can stop them with their stestr workers.
  (cd "$dir/run" && exec setsid "$venv/bin/tempest" run --config-file "$dir/tempest.conf" \
    --regex "$regex" "${ex_args[@]}" --concurrency "${TEMPEST_CONCURRENCY:-2}" --subunit \
    > "$dir/results.subunit" 2> "$dir/run.err") &
  run_pid=$!
  wait "$run_pid" || true
  run_pid=""
  wait "$list_pid" || { list_pid=""; tail -n 30 "$dir/list.err" >&2; die "tempest --list-tests failed for ${vgroups[*]}"; }
  list_pid=""
  [ -s "$dir/results.subunit" ] || { tail -n 30 "$dir/run.err" >&2; die "tempest produced no results for ${vgroups[*]}"; }
  cat "$dir/listed.txt" >> "$work/listed.txt"
  subunits+=("$dir/results.subunit")
  tempest_logs+=(--tempest-log "$dir/logs/tempest.log")
  stop_serve
  log "${vgroups[*]} done at $(elapsed)"
done

results="$base/results"
mkdir -p "$results"
"$py" "$script_dir/tempest/results.py" collect --out-dir "$results" --groups "$groups_csv" \
  --listed "$work/listed.txt" "${tempest_logs[@]}" "${subunits[@]}"
log "results in ${results#"$repo"/}/; failures by cause in target/tempest/failure-causes.md ($(elapsed))"
cmp_args=(--expected "$script_dir/tempest-expected.txt" --results-dir "$results" --groups "$groups_csv"
  --causes "$base/failure-causes.md")
[ "$record" = 1 ] && cmp_args+=(--record)
"$py" "$script_dir/tempest/compare.py" "${cmp_args[@]}"
