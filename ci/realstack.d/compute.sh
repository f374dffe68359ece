# Sourced by ci/realstack for `start --with compute,volume` (and `stop`/`status` after it): real
# Nova 34 (api, conductor, scheduler, compute on libvirt/QEMU), Placement 16 and Cinder 29 (api,
# scheduler, volume on the NFS driver) from PyPI beside Keystone/Barbican/Glance, RabbitMQ,
# libvirtd and virtlogd from Debian (bookworm-backports), MariaDB 10.11 (bookworm) for their
# databases, and the network service (sigstack serve-network). Facts and workarounds:
# docs/fidelity.md, "Real Nova and Cinder".
#
# Everything it changes outside target/realstack is undone by `stop`: processes (pid files in
# run/), libvirt guests (destroyed and undefined), mounts under state/ (the NFS share), the mode
# of /dev/kvm (recorded in run/kvm-mode), the o+x it gives the directories above state/ that
# QEMU could not pass (recorded in run/traverse-modes). The apt source it adds
# (/etc/apt/sources.list.d/sigstack-bookworm-backports.sources) and the packages stay installed,
# as any CI setup step's.
# shellcheck shell=bash

compute_req="$script_dir/realstack-compute-requirements.txt"
cvenv="$base/compute-venv"
rabbit_port="${REALSTACK_RABBIT_PORT:-5672}"
placement_port="${REALSTACK_PLACEMENT_PORT:-8778}"
nova_port="${REALSTACK_NOVA_PORT:-8774}"
cinder_port="${REALSTACK_CINDER_PORT:-8776}"
neutron_port="${REALSTACK_NEUTRON_PORT:-9696}"
mysql_port="${REALSTACK_MYSQL_PORT:-3306}"
# The share Cinder's NFS driver is given, served by a tmpfs (state/nfs-export) that the mount
# wrapper (state/bin/mount) bind-mounts wherever Cinder or Nova mounts the share.
nfs_share="127.0.0.1:/realstack-volumes"
# Debian packages, exact versions (bookworm-backports for QEMU and libvirt: the machine's
# qemu-utils 10.0.2 comes from there, and bookworm's qemu-system-x86 7.2 conflicts with it).
apt_packages=(
  qemu-system-x86=1:10.0.2+ds-2+deb13u1~bpo12+1
  libvirt-daemon-system=11.3.0-2~bpo12+1
  libvirt-daemon-driver-qemu=11.3.0-2~bpo12+1
  libvirt-clients=11.3.0-2~bpo12+1
  libvirt-dev=11.3.0-2~bpo12+1
  pkg-config
  rabbitmq-server=3.10.8-1.1+deb12u1
  nfs-common=1:2.6.2-4+deb12u1
  mariadb-server=1:10.11.19-0+deb12u1
  mariadb-client=1:10.11.19-0+deb12u1
)
# Started in this order, stopped in the reverse one.
compute_daemons=(mariadb epmd rabbitmq virtlogd libvirtd neutron placement nova-api nova-conductor
  nova-scheduler nova-compute cinder-api cinder-scheduler cinder-volume)

with_compute() { [[ ",$with," == *,compute,* ]]; }
with_volume() { [[ ",$with," == *,volume,* ]]; }

# --- Debian packages: installed once (apt does nothing when they are there).
install_packages() {
  local missing=0 p
  for p in "${apt_packages[@]}"; do
    [ "$(dpkg-query -W -f='${Status} ${Version}' "${p%%=*}" 2>/dev/null)" = "install ok installed ${p#*=}" ] ||
      { [ "$p" = "${p#*=}" ] && dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; } ||
      missing=1
  done
  [ "$missing" = 0 ] && { log "Debian packages present"; return 0; }
  [ "$(id -u)" = 0 ] || die "installing ${apt_packages[*]} needs root"
  log "installing Debian packages from bookworm and bookworm-backports"
  cat > /etc/apt/sources.list.d/sigstack-bookworm-backports.sources <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  local policy_added=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    # No service starts from the packages' scripts: this script starts what it needs.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; policy_added=1
  fi
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      -t bookworm-backports "${apt_packages[@]}"; } > "$base/apt.log" 2>&1 || {
    [ "$policy_added" = 1 ] && rm -f /usr/sbin/policy-rc.d
    tail -n 30 "$base/apt.log" >&2; die "apt-get install failed (log: $base/apt.log)"; }
  [ "$policy_added" = 1 ] && rm -f /usr/sbin/policy-rc.d
  return 0
}

build_compute_venv() {
  pinned_venv "$cvenv" "$compute_req" "$base_python" nova-compute "$LAYOUT_VERSION" || die "could not build the compute virtualenv"
}

# The network endpoint Nova needs: sigstack's own simulated Neutron (`sigstack serve-network`,
# SIGSTACK_BIN or built here), every caller's token checked by this Keystone with the admin's
# credentials, as keystonemiddleware does in front of a real Neutron.
start_network_service() {
  local dir="$state/neutron" bin="${SIGSTACK_BIN:-}" tls_args=()
  mkdir -p "$dir"
  if [ -z "$bin" ]; then
    (cd "$repo" && cargo build --quiet -p sigstack-cli) > "$dir/build.log" 2>&1 ||
      { tail -n 20 "$dir/build.log" >&2; die "cannot build sigstack for the network service (log: $dir/build.log)"; }
    bin="$repo/target/debug/sigstack"
  fi
  (umask 077; cat > "$dir/clouds.yaml" <<EOF
clouds:
  realstack-neutron:
    auth:
      auth_url: "$keystone_url"
      username: "admin"
      password: "admin-password"
      project_name: "admin"
      user_domain_name: "Default"
      project_domain_name: "Default"
    region_name: "RegionOne"
    interface: "public"
    identity_api_version: 3
$(if [ "$scheme" = https ]; then echo "    cacert: \"$ca\""; fi)
EOF
  )
  if [ "$scheme" = https ]; then tls_args=(--tls-cert "$tls_dir/server.pem" --tls-key "$tls_dir/server.key" --tls-ca "$ca"); fi
  daemon neutron env OS_CLIENT_CONFIG_FILE="$dir/clouds.yaml" "$bin" serve-network --cloud realstack-neutron \
    --data-dir "$dir/data" --host "$host" --port "$neutron_port" --public-url "$scheme://$host:$neutron_port" \
    ${tls_args[@]+"${tls_args[@]}"}
}

# daemon NAME COMMAND...: in its own session, pid in run/NAME.pid, output in run/NAME.log.
daemon() {
  local name=$1; shift
  ( exec env PATH="$state/bin:$cvenv/bin:$PATH" ${service_tls_env[@]+"${service_tls_env[@]}"} \
      setsid "$@" > "$run/$name.log" 2>&1 < /dev/null ) &
  echo $! > "$run/$name.pid"
}

# cgunicorn NAME PORT MODULE [VAR=VALUE...]: as serve(), from the compute venv.
cgunicorn() {
  local name=$1 port=$2 app=$3; shift 3
  (
    cd "$state/$name"
    exec env PATH="$state/bin:$cvenv/bin:$PATH" "$@" ${service_tls_env[@]+"${service_tls_env[@]}"} \
      setsid "$cvenv/bin/gunicorn" --bind "$host:$port" --workers 1 --threads 4 --timeout 120 \
      --access-logfile - ${gunicorn_tls[@]+"${gunicorn_tls[@]}"} "$app" > "$run/$name.log" 2>&1 < /dev/null
  ) &
  echo $! > "$run/$name.pid"
}

# wsgi_wrapper DIR MODULE NAME [ARGS...]: DIR/NAME.py imports MODULE's application with
# sys.argv set to ARGS (their WSGI modules parse sys.argv with oslo.config: under gunicorn it
# is gunicorn's command line).
wsgi_wrapper() {
  local dir=$1 module=$2 name=$3; shift 3
  local args="" a
  for a in "$@"; do args+="\"$a\", "; done
  cat > "$dir/$name.py" <<EOF
import sys

_argv, sys.argv = sys.argv, ["$name", $args]
from $module import application  # noqa: E402,F401

sys.argv = _argv
EOF
}

ks_auth() { # SECTION: keystoneauth password options for a service's own calls
  cat <<EOF
[$1]
auth_type = password
auth_url = $keystone_url
username = admin
password = admin-password
project_name = admin
user_domain_id = default
project_domain_id = default
region_name = RegionOne
$(if [ "$scheme" = https ]; then echo "cafile = $ca"; fi)
EOF
}

barbican_section() {
  cat <<EOF
[key_manager]
backend = barbican
[barbican]
barbican_endpoint = $barbican_url
auth_endpoint = $keystone_url
verify_ssl = True
$(if [ "$scheme" = https ]; then echo "verify_ssl_path = $ca"; fi)
EOF
}

# The helpers that stand in for what a packaged deployment has: `sudo` (everything runs as
# root already; Cinder's root helper is `sudo cinder-rootwrap ...`) and `mount`, which serves
# the NFS share by bind-mounting the tmpfs export (no NFS server on this machine), any other
# mount going to the real one.
write_helpers() {
  mkdir -p "$state/bin" "$state/nfs-export"
  cat > "$state/bin/sudo" <<'EOF'
#!/bin/sh
while [ $# -gt 0 ]; do case "$1" in -n|-E|-H) shift ;; *) break ;; esac; done
exec "$@"
EOF
  cat > "$state/bin/mount" <<EOF
#!/bin/sh
# ci/realstack: "mount -t nfs [-o ...] $nfs_share DIR" bind-mounts $state/nfs-export on DIR.
share=0
for a in "\$@"; do [ "\$a" = "$nfs_share" ] && share=1; done
if [ "\$share" = 1 ]; then
  for target in "\$@"; do :; done
  exec /bin/mount --bind "$state/nfs-export" "\$target"
fi
exec /bin/mount "\$@"
EOF
  chmod 755 "$state/bin/sudo" "$state/bin/mount"
  mount -t tmpfs -o size=8g,mode=0777 sigstack-realstack-nfs "$state/nfs-export"
}

configure_nova() {
  local dir="$state/nova" virt_type=qemu cpu_mode=none
  mkdir -p "$dir/instances" "$dir/locks" "$dir/mnt" "$state/nova-api" "$state/placement"
  # libvirt starts each QEMU in its own mount namespace, a slave copy of the host's. Every mount
  # here is private, so a share Nova mounts after the guest started would never show inside
  # it (QEMU: "Could not open ...: No such file or directory"). Nova's mount base becomes a
  # shared mount, so the mounts under it propagate into the guests' namespaces.
  mount --bind "$dir/mnt" "$dir/mnt" && mount --make-shared "$dir/mnt"
  # KVM when /dev/kvm works (QEMU starts a guest on it for 2 s), TCG otherwise. The CPU model
  # is QEMU's default (cpu_mode none): host-model and host-passthrough guests abort on nested
  # KVM here ("failed to set MSR 0x10a").
  if [ -c /dev/kvm ] && [ "${REALSTACK_VIRT_TYPE:-}" != qemu ]; then
    local rc=0
    timeout 2 qemu-system-x86_64 -accel kvm -cpu qemu64 -display none -nodefaults -m 64 \
      -monitor none -serial none > "$run/kvm-probe.log" 2>&1 || rc=$?
    if [ "$rc" = 124 ]; then virt_type=kvm; else log "/dev/kvm does not run a guest (QEMU: $(tail -n 1 "$run/kvm-probe.log")): TCG"; fi
  fi
  echo "$virt_type" > "$run/virt-type"
  local privsep="$cvenv/bin/privsep-helper --config-file $dir/nova.conf"
  cat > "$dir/nova.conf" <<EOF
[DEFAULT]
transport_url = rabbit://guest:guest@$host:$rabbit_port/
state_path = $dir
instances_path = $dir/instances
host = realstack
my_ip = $host
compute_driver = libvirt.LibvirtDriver
# No ports are ever plugged (servers boot with `networks: none` beside sigstack serve-network).
vif_plugging_is_fatal = False
vif_plugging_timeout = 0
[api]
auth_strategy = keystone
[wsgi]
api_paste_config = $dir/api-paste.ini
[api_database]
connection = $(db_url nova_api)
[database]
connection = $(db_url nova)
[oslo_concurrency]
lock_path = $dir/locks
[oslo_messaging_notifications]
driver = noop
# One process each: two cores.
[conductor]
workers = 1
[libvirt]
virt_type = $virt_type
cpu_mode = $cpu_mode
nfs_mount_point_base = $dir/mnt
# The suite's guests have no operating system and never acknowledge a volume's PCI unplug:
# give up after one 5 s wait instead of 8 x 20 s (the instance stays locked meanwhile).
device_detach_attempts = 1
device_detach_timeout = 5
[vnc]
enabled = False
[spice]
enabled = False
[scheduler]
workers = 1
# Hosts are mapped by nova-manage cell_v2 discover_hosts after nova-compute registers.
discover_hosts_in_cells_interval = -1
[glance]
# What this deployment is for: Nova verifies image signatures (cursive) with the booting
# user's token, and validates the signing certificate against the trusted certificates
# (REALSTACK_CERTIFICATE_VALIDATION=0 turns that off).
verify_glance_signatures = True
enable_certificate_validation = $cert_validation
default_trusted_certificate_ids =
$(if [ "$scheme" = https ]; then echo "cafile = $ca"; fi)
[cinder]
os_region_name = RegionOne
$(ks_auth cinder | tail -n +2)
$(barbican_section)
$(authtoken_section)
$(ks_auth placement)
$(ks_auth neutron)
# Nova sends a service token with the user's (since the fix for OSSA-2023-003 Cinder refuses
# to delete a Nova-owned volume attachment without one: 409 ConflictNovaUsingAttachment).
$(ks_auth service_user)
send_service_user_token = True
[nova_sys_admin]
helper_command = $privsep
[privsep_osbrick]
helper_command = $privsep
[vif_plug_ovs_privileged]
helper_command = $privsep
[vif_plug_linux_bridge_privileged]
helper_command = $privsep
EOF
  cp "$cvenv/etc/nova/api-paste.ini" "$dir/api-paste.ini"
  wsgi_wrapper "$state/nova-api" nova.wsgi.osapi_compute realstack_nova
  cat > "$state/placement/placement.conf" <<EOF
[placement_database]
connection = $(db_url placement)
[api]
auth_strategy = keystone
$(authtoken_section)
EOF
  wsgi_wrapper "$state/placement" placement.wsgi.api realstack_placement
  local m=("$cvenv/bin/nova-manage" --config-file "$dir/nova.conf")
  {
    "$cvenv/bin/placement-manage" --config-file "$state/placement/placement.conf" db sync
    "${m[@]}" api_db sync
    "${m[@]}" cell_v2 map_cell0 --database_connection "$(db_url nova_cell0)"
    "${m[@]}" cell_v2 create_cell --name cell1
    "${m[@]}" db sync
  } > "$dir/manage.log" 2>&1 || { tail -n 30 "$dir/manage.log" >&2; die "nova-manage failed (log: $dir/manage.log)"; }
}

configure_cinder() {
  local dir="$state/cinder"
  mkdir -p "$dir/locks" "$dir/mnt" "$dir/conversion" "$state/cinder-api"
  echo "$nfs_share" > "$dir/nfs_shares"
  sed -e "s#^filters_path.*#filters_path = $cvenv/etc/cinder/rootwrap.d#" \
      -e "s#^exec_dirs.*#exec_dirs = $state/bin,$cvenv/bin,/usr/local/sbin,/usr/local/bin,/sbin,/usr/sbin,/bin,/usr/bin#" \
      "$cvenv/etc/cinder/rootwrap.conf" > "$dir/rootwrap.conf"
  local privsep="$cvenv/bin/privsep-helper --config-file $dir/cinder.conf"
  cat > "$dir/cinder.conf" <<EOF
[DEFAULT]
transport_url = rabbit://guest:guest@$host:$rabbit_port/
state_path = $dir
host = realstack
my_ip = $host
auth_strategy = keystone
api_paste_config = $cvenv/etc/cinder/api-paste.ini
rootwrap_config = $dir/rootwrap.conf
image_conversion_dir = $dir/conversion
resource_query_filters_file = $cvenv/etc/cinder/resource_filters.json
enabled_backends = nfs
# Cinder verifies image signatures when it creates a volume from an image.
verify_glance_signatures = enabled
$(if [ "$scheme" = https ]; then echo "glance_ca_certificates_file = $ca"; fi)
[database]
connection = $(db_url cinder)
[oslo_concurrency]
lock_path = $dir/locks
[oslo_messaging_notifications]
driver = noop
[nfs]
volume_driver = cinder.volume.drivers.nfs.NfsDriver
volume_backend_name = nfs
nfs_shares_config = $dir/nfs_shares
nfs_mount_point_base = $dir/mnt
nfs_sparsed_volumes = True
nas_secure_file_operations = false
nas_secure_file_permissions = false
$(barbican_section)
$(authtoken_section)
$(ks_auth nova)
[cinder_sys_admin]
helper_command = $privsep
[privsep_osbrick]
helper_command = $privsep
EOF
  wsgi_wrapper "$state/cinder-api" cinder.wsgi.api realstack_cinder --config-file "$dir/cinder.conf"
  "$cvenv/bin/cinder-manage" --config-file "$dir/cinder.conf" db sync > "$dir/manage.log" 2>&1 ||
    { tail -n 30 "$dir/manage.log" >&2; die "cinder-manage db sync failed (log: $dir/manage.log)"; }
}

# MariaDB for Placement, Nova (api, cell0, cell1) and Cinder, as deployments run them. SQLite
# was tried first: its lock conflicts (two transactions upgrading to write) answer "database
# is locked" at once, whatever the busy timeout, and about one full conformance run in four
# lost a server's ERROR state that way (the conductor's update failed; the server stayed in
# BUILD). The data directory is new on every start; durability is not needed (flush per second).
db_databases=(placement nova_api nova_cell0 nova cinder)
db_url() { echo "mysql+pymysql://realstack:$(cat "$state/mariadb/password")@$host:$mysql_port/$1?charset=utf8"; }

start_mariadb() {
  local dir="$state/mariadb" sql="" name
  mkdir -p "$dir/data"
  (umask 077; "$cvenv/bin/python" -c 'import secrets; print(secrets.token_hex(16))' > "$dir/password")
  mariadb-install-db --no-defaults --user=root --datadir="$dir/data" --skip-test-db \
    --auth-root-authentication-method=socket > "$dir/install.log" 2>&1 ||
    { tail -n 20 "$dir/install.log" >&2; die "mariadb-install-db failed (log: $dir/install.log)"; }
  daemon mariadb /usr/sbin/mariadbd --no-defaults --user=root --datadir="$dir/data" \
    --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" --bind-address="$host" --port="$mysql_port" \
    --skip-name-resolve --skip-log-bin --innodb-flush-log-at-trx-commit=2 --innodb-buffer-pool-size=128M \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci --max-connections=1000
  for _ in $(seq 1 300); do
    mariadb-admin --no-defaults --socket="$dir/mysqld.sock" -u root ping >/dev/null 2>&1 && break
    alive mariadb || { tail -n 30 "$run/mariadb.log" >&2; die "mariadbd exited"; }
    sleep 0.1
  done
  for name in "${db_databases[@]}"; do sql+="CREATE DATABASE $name CHARACTER SET utf8mb4; "; done
  sql+="CREATE USER 'realstack'@'$host' IDENTIFIED BY '$(cat "$dir/password")'; "
  sql+="GRANT ALL PRIVILEGES ON *.* TO 'realstack'@'$host';"
  mariadb --no-defaults --socket="$dir/mysqld.sock" -u root -e "$sql" ||
    { tail -n 30 "$run/mariadb.log" >&2; die "could not create the databases"; }
}

start_rabbitmq() {
  local dir="$state/rabbitmq"
  mkdir -p "$dir"
  # Our own epmd on loopback (RabbitMQ would start a daemonised one nobody stops).
  daemon epmd env ERL_EPMD_ADDRESS=$host epmd -port 4369
  daemon rabbitmq env HOME="$dir" ERL_EPMD_ADDRESS=$host RABBITMQ_NODENAME=rabbit@localhost \
    RABBITMQ_NODE_IP_ADDRESS=$host RABBITMQ_NODE_PORT="$rabbit_port" RABBITMQ_DIST_PORT=$((rabbit_port + 20000)) \
    RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" RABBITMQ_CONFIG_FILE="$dir/rabbitmq" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_PID_FILE="$dir/rabbit.pid" \
    /usr/lib/rabbitmq/bin/rabbitmq-server
}

# QEMU runs as libvirt-qemu and opens the instance disks and the NFS share under state/: every
# directory above them must let others through. A checkout in a private directory (`mktemp -d`
# makes it 0700) gets o+x for the run; the modes are recorded in run/traverse-modes and put
# back by `stop`.
open_path_to_state() {
  local dir="$state" mode
  while [ "$dir" != / ]; do
    mode="$(stat -c '%a' "$dir")"
    if [ $((8#$mode & 1)) -eq 0 ]; then
      echo "$mode $dir" >> "$run/traverse-modes"
      chmod o+x "$dir"
      log "opened $dir to other users for the run (mode $mode; QEMU runs as libvirt-qemu)"
    fi
    dir="$(dirname "$dir")"
  done
}

start_libvirt() {
  local dir="$state/libvirt"
  mkdir -p "$dir"
  open_path_to_state
  if [ -c /dev/kvm ]; then
    # QEMU runs as libvirt-qemu (group kvm): open /dev/kvm to the group while running.
    chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
  fi
  daemon virtlogd /usr/sbin/virtlogd
  daemon libvirtd /usr/sbin/libvirtd
}

wait_port() { # NAME PORT: a TCP listener on loopback, up to 90 s
  for _ in $(seq 1 900); do
    (exec 3<>"/dev/tcp/$host/$2") 2>/dev/null && return 0
    alive "$1" || { tail -n 30 "$run/$1.log" >&2; die "$1 exited before listening on $2"; }
    sleep 0.1
  done
  tail -n 30 "$run/$1.log" >&2; die "$1 does not listen on $2 after 90 s"
}

# Endpoints, flavors: through the APIs, as an operator's bootstrap does.
provision_compute() {
  local ca_file=""
  if [ "$scheme" = https ]; then ca_file="$ca"; fi
  KEYSTONE_URL="$keystone_url" CA_FILE="$ca_file" WITH="$with" \
    SCHEME="$scheme" HOST="$host" NOVA_PORT="$nova_port" PLACEMENT_PORT="$placement_port" \
    CINDER_PORT="$cinder_port" NEUTRON_PORT="$neutron_port" \
    "$cvenv/bin/python" "$script_dir/realstack.d/provision_compute.py" "$1" >> "$state/provision-compute.log" 2>&1 ||
    { cat "$state/provision-compute.log" >&2; die "provisioning $1 failed"; }
}

compute_start() {
  local t0=$SECONDS port
  for port in "$mysql_port" "$rabbit_port" "$placement_port" "$nova_port" "$cinder_port" "$neutron_port"; do
    port_free "$port" || die "port $host:$port is in use (set REALSTACK_*_PORT)"
  done
  # /dev/kvm as it is before anything (installing the packages may open it to group kvm).
  if [ -c /dev/kvm ] && [ ! -f "$run/kvm-mode" ]; then stat -c '%a %U %G' /dev/kvm > "$run/kvm-mode"; fi
  echo "$with" > "$run/with"
  install_packages
  build_compute_venv
  log "compute venv ready after $((SECONDS - t0)) s"
  write_helpers
  provision_compute catalog
  start_mariadb
  log "mariadb ready after $((SECONDS - t0)) s"
  start_rabbitmq
  if with_compute; then
    start_libvirt
    configure_nova
    start_network_service
    cgunicorn placement "$placement_port" realstack_placement:application OS_PLACEMENT_CONFIG_DIR="$state/placement"
    cgunicorn nova-api "$nova_port" realstack_nova:application OS_NOVA_CONFIG_DIR="$state/nova"
  fi
  if with_volume; then
    configure_cinder
    cgunicorn cinder-api "$cinder_port" realstack_cinder:application
  fi
  wait_port rabbitmq "$rabbit_port"
  log "rabbitmq listens on $rabbit_port after $((SECONDS - t0)) s"
  if with_compute; then
    local n=("--config-file" "$state/nova/nova.conf")
    daemon nova-conductor "$cvenv/bin/nova-conductor" "${n[@]}"
    daemon nova-scheduler "$cvenv/bin/nova-scheduler" "${n[@]}"
    for _ in $(seq 1 300); do [ -S /run/libvirt/libvirt-sock ] && break; alive libvirtd || break; sleep 0.1; done
    [ -S /run/libvirt/libvirt-sock ] || { tail -n 30 "$run/libvirtd.log" >&2; die "libvirtd did not start"; }
    daemon nova-compute "$cvenv/bin/nova-compute" "${n[@]}"
  fi
  if with_volume; then
    local c=("--config-file" "$state/cinder/cinder.conf")
    daemon cinder-scheduler "$cvenv/bin/cinder-scheduler" "${c[@]}"
    daemon cinder-volume "$cvenv/bin/cinder-volume" "${c[@]}"
  fi
  if with_compute; then
    wait_for placement "$scheme://$host:$placement_port/"
    wait_for neutron "$scheme://$host:$neutron_port/"
    wait_for nova-api "$scheme://$host:$nova_port/"
    provision_compute flavors
    # nova-compute registers its service and its node (Placement, the cell database); then
    # the cell maps the host.
    for _ in $(seq 1 180); do
      grep -q "refusing to start" "$run/nova-compute.log" && { tail -n 20 "$run/nova-compute.log" >&2; die "nova-compute refuses to start"; }
      "$cvenv/bin/nova-manage" --config-file "$state/nova/nova.conf" cell_v2 discover_hosts --strict >> "$state/nova/manage.log" 2>&1 && break
      alive nova-compute || { tail -n 40 "$run/nova-compute.log" >&2; die "nova-compute exited"; }
      sleep 0.5
    done
    provision_compute compute-ready
    log "nova ready after $((SECONDS - t0)) s ($(cat "$run/virt-type"))"
  fi
  if with_volume; then
    wait_for cinder-api "$scheme://$host:$cinder_port/"
    provision_compute volume-ready
    log "cinder ready after $((SECONDS - t0)) s"
  fi
}

compute_stop() {
  local name pid i
  # Guests first, while libvirtd runs: nova-compute would otherwise refuse a fresh database.
  if alive libvirtd && command -v virsh >/dev/null; then
    for dom in $(virsh -c qemu:///system list --all --name 2>/dev/null | grep '^instance-' || true); do
      virsh -c qemu:///system destroy "$dom" >/dev/null 2>&1 || true
      virsh -c qemu:///system undefine "$dom" --nvram >/dev/null 2>&1 ||
        virsh -c qemu:///system undefine "$dom" >/dev/null 2>&1 || true
      log "removed guest $dom"
    done
  fi
  # TERM to all at once; what has not exited 5 s later (nova-compute ignores TERM) is killed,
  # with what it started in its session (privsep daemons, oslo.service workers, erlang
  # children). The state is discarded anyway.
  local pids=() left
  for ((i = ${#compute_daemons[@]} - 1; i >= 0; i--)); do
    pid="$(pid_of "${compute_daemons[$i]}")"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); fi
  done
  for _ in $(seq 1 50); do
    left=0
    for pid in ${pids[@]+"${pids[@]}"}; do kill -0 "$pid" 2>/dev/null && left=1; done
    [ "$left" = 0 ] && break
    sleep 0.1
  done
  for ((i = ${#compute_daemons[@]} - 1; i >= 0; i--)); do
    stop_one "${compute_daemons[$i]}"
  done
  # Mounts under the state directory, deepest first.
  awk -v s="$state/" 'index($2, s) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" || true
  done
  if [ -f "$run/kvm-mode" ]; then
    read -r mode owner group < "$run/kvm-mode"
    chown "$owner:$group" /dev/kvm && chmod "$mode" /dev/kvm && rm -f "$run/kvm-mode"
  fi
  if [ -f "$run/traverse-modes" ]; then
    while read -r mode dir; do chmod "$mode" "$dir" || true; done < "$run/traverse-modes"
    rm -f "$run/traverse-modes"
  fi
  rm -f "$run/with" "$run/virt-type"
}

compute_status() {
  local ok=0 name
  for name in "${compute_daemons[@]}"; do
    [ -f "$run/$name.pid" ] || continue
    if alive "$name"; then echo "$name: running (pid $(pid_of "$name"))"; else echo "$name: stopped"; ok=1; fi
  done
  return "$ok"
}

# `ci/realstack certificate-validation 0|1`: sets nova.conf's [glance]
# enable_certificate_validation on the running stack (nova-api and nova-compute both read it),
# restarts those two, and rewrites the capability files' certificate_validation. Lets one
# start serve the scenarios of both settings.
compute_set_certificate_validation() {
  local value=$1 since
  [ -f "$state/nova/nova.conf" ] && alive nova-compute || die "Nova is not running (start --with compute first)"
  scheme="$(cat "$run/scheme")"; set_scheme "$scheme"
  if [ "$scheme" = https ]; then
    gunicorn_tls=(--certfile "$tls_dir/server.pem" --keyfile "$tls_dir/server.key")
    service_tls_env=(REQUESTS_CA_BUNDLE="$ca")
  fi
  sed -i "s/^enable_certificate_validation = .*/enable_certificate_validation = $value/" "$state/nova/nova.conf"
  since="$(date -u +%Y-%m-%dT%H:%M:%S)"
  stop_one nova-compute; stop_one nova-api
  cgunicorn nova-api "$nova_port" realstack_nova:application OS_NOVA_CONFIG_DIR="$state/nova"
  daemon nova-compute "$cvenv/bin/nova-compute" --config-file "$state/nova/nova.conf"
  wait_for nova-api "$scheme://$host:$nova_port/"
  SINCE="$since" provision_compute compute-restarted
  local cap=false
  [ "$value" = True ] && cap=true
  sed -i "s/^  certificate_validation: .*/  certificate_validation: $cap/" "$base/capabilities.yaml" "$base/capabilities-appcred.yaml"
  log "nova: enable_certificate_validation = $value"
}

stop_one() {
  local name=$1 pid
  pid="$(pid_of "$name")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    log "stopped $name (pid $pid)"
  fi
  # Its session (it was started with setsid: session id = pid), even when its leader is gone.
  if [ -n "$pid" ]; then pkill -KILL -s "$pid" 2>/dev/null || true; fi
  rm -f "$run/$name.pid"
}
