#!/usr/bin/env bash
# is-provision test lab: Debian bookworm hosts on this machine, each an overlayfs
# root over one cached debootstrap base, in its own network namespace on bridge
# isplab0, running a real OpenSSH sshd. Needs root. See `lab.sh help`.
#
# The lab is a singleton per machine: the bridge, netns and veth names are fixed,
# so two state dirs cannot be up at the same time.
set -euo pipefail
# (With pipefail, `cmd | grep -q` fails at random when grep exits early and cmd
# gets SIGPIPE; this script matches on captured output instead.)

SCRIPT=$(realpath "${BASH_SOURCE[0]}")
REPO=$(dirname "$(dirname "$SCRIPT")")
STATE=$(realpath -m "${IS_PROVISION_LAB_DIR:-$REPO/.lab}")
CACHE=$(realpath -m "${IS_PROVISION_LAB_CACHE:-/var/cache/is-provision-lab}")
SUITE=bookworm
BASE=$CACHE/base-$SUITE
BASE_MARKER=$CACHE/base-$SUITE.complete
BRIDGE=isplab0
NET=10.231.0
BRIDGE_IP=$NET.1
NETNS_PREFIX=isplab-
VETH_PREFIX=isv-
ACNG_PORT=3142
ACNG_URL=http://$BRIDGE_IP:$ACNG_PORT
ALICE_SUDO_PW=alice-sudo-pw
BASE_PACKAGES=openssh-server,sudo,procps,iproute2,ca-certificates,less,netbase
# A clean environment for everything that runs inside a host, so the caller's
# variables (NODE_OPTIONS, proxies, CI=...) do not leak into the hosts.
HOST_ENV=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8)

DIED=""
die() { echo "lab: $*" >&2; DIED=1; exit 1; }
# Under `set -e` an unexpected failure would otherwise end the script with only
# the failing tool's own message; name the command too.
on_exit() {
  local rc=$1 cmd=$2
  if ((rc != 0)) && [[ -z $DIED ]]; then echo "lab: '$SUBCOMMAND' failed (exit $rc) running: $cmd" >&2; fi
}
note() { echo "lab: $*" >&2; }

usage() {
  cat <<EOF
usage: scripts/lab.sh COMMAND
  up NAME=IP [NAME=IP ...]  tear down leftovers, then start fresh hosts (IPs in $NET.2-254)
  down                      stop all hosts, remove bridge/netns (host keys and upper dirs are kept)
  reset NAME                wipe one host's filesystem changes and restart it (same host keys)
  exec NAME -- CMD...       run CMD as root inside the host
  ssh NAME [SSH ARGS...]    ssh into the host as root with the lab's key and known_hosts
  status                    show what is up
  purge                     down, stop apt-cacher-ng, delete the state dir (the base cache is kept)
state dir: $STATE (IS_PROVISION_LAB_DIR)
base cache: $CACHE (IS_PROVISION_LAB_CACHE)
EOF
}

need_root() {
  [[ $(id -u) == 0 ]] || die "must run as root (needs mount, chroot and network namespaces)"
  local c
  for c in debootstrap ip unshare nsenter chroot ssh-keygen flock apt-cacher-ng start-stop-daemon; do
    command -v "$c" >/dev/null || die "missing command '$c' (apt-get install debootstrap iproute2 util-linux openssh-client apt-cacher-ng)"
  done
}

# Serialises up/down/reset so two test processes cannot interleave teardown and setup.
lock_state() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 600 9 || die "timed out waiting for $STATE/.lock"
}

hdir() { echo "$STATE/hosts/$1"; }
netns_of() { echo "$NETNS_PREFIX$1"; }
veth_of() {
  # Interface names are limited to 15 bytes.
  if ((${#1} <= 15 - ${#VETH_PREFIX})); then echo "$VETH_PREFIX$1"
  else echo "$VETH_PREFIX$(printf %s "$1" | sha256sum | cut -c1-$((15 - ${#VETH_PREFIX})))"; fi
}

# The first deb822 stanza serving plain "$SUITE" (not -security) in the machine's own apt sources.
mirror_uri() {
  local f=/etc/apt/sources.list.d/debian.sources uri=""
  if [[ -n ${IS_PROVISION_LAB_MIRROR:-} ]]; then uri=$IS_PROVISION_LAB_MIRROR
  elif [[ -r $f ]]; then
    uri=$(awk -v suite="$SUITE" '
      function check() { if (!done && u != "" && index(s, " " suite " ")) { print u; done = 1 } }
      /^[[:space:]]*$/ { check(); u = ""; s = ""; next }
      /^URIs:/ { u = $2 }
      /^Suites:/ { $1 = ""; s = $0 " " }
      END { check() }' "$f")
  fi
  uri=${uri:-http://deb.debian.org/debian}
  echo "${uri%/}"
}

tcp_answers() { timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }
ssh_banner() { timeout 1 bash -c "exec 3<>/dev/tcp/$1/22 && head -c 4 <&3" 2>/dev/null; }

# ---------------------------------------------------------------- teardown

# Processes whose root is PREFIX or below it, plus every process in the given netns.
lab_pids() {
  local prefix=$1 p r ns
  shift
  for p in /proc/[0-9]*; do
    r=$(readlink "$p/root" 2>/dev/null) || continue
    [[ $r == "$prefix" || $r == "$prefix"/* ]] && echo "${p#/proc/}"
  done
  for ns in "$@"; do ip netns pids "$ns" 2>/dev/null || true; done
}

kill_all() {
  local i pids
  for i in $(seq 50); do
    mapfile -t pids < <(lab_pids "$@" | sort -u | grep -vx -e "$$" -e "$BASHPID" || true)
    ((${#pids[@]})) || return 0
    kill -9 "${pids[@]}" 2>/dev/null || true
    sleep 0.1
  done
  die "processes still alive in the lab after SIGKILL: ${pids[*]}"
}

# Lazily unmounts every mount at or below DIR, deepest first; repeated for stacked mounts.
unmount_under() {
  local dir=$1 i m
  local -a ms
  for i in 1 2 3 4 5; do
    mapfile -t ms < <(
      while read -r _ _ _ _ m _; do
        m=$(printf '%b' "$m")  # mountinfo escapes spaces etc. as \040
        if [[ $m == "$dir" || $m == "$dir"/* ]]; then echo "$m"; fi
      done </proc/self/mountinfo | awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2-)
    ((${#ms[@]})) || return 0
    for m in "${ms[@]}"; do umount -l "$m" 2>/dev/null || true; done
  done
  die "could not unmount everything under $dir"
}

lab_netns() { ip netns list 2>/dev/null | awk -v p="$NETNS_PREFIX" 'index($1, p) == 1 { print $1 }'; }

# The bridge and netns names are machine-wide, so the lab is a singleton: `up`
# records its state dir here, and the next teardown also clears that one.
ACTIVE=/run/is-provision-lab.state

teardown_all() {
  local -a nss dirs=("$STATE")
  local prev dir ns link
  prev=$(cat "$ACTIVE" 2>/dev/null) || true
  # Only something that looks like a lab state dir: this path gets unmounted recursively.
  if [[ $prev == /?* && $prev != "$STATE" && -d $prev/hosts && -f $prev/id_ed25519 ]]; then dirs+=("$prev"); fi
  mapfile -t nss < <(lab_netns)
  for dir in "${dirs[@]}"; do kill_all "$dir/hosts" "${nss[@]}"; done
  for dir in "${dirs[@]}"; do unmount_under "$dir"; done
  for ns in "${nss[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  for link in $(ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
    if [[ $link == "$VETH_PREFIX"* || $link == "$BRIDGE" ]]; then ip link del "$link" 2>/dev/null || true; fi
  done
  for dir in "${dirs[@]}"; do
    rm -f "$dir/hosts.list" "$dir/hosts.json" "$dir/known_hosts" "$dir/ssh_config"
  done
  rm -f "$ACTIVE"
}

# ---------------------------------------------------------------- control machine

# While the bridge is absent, packets to lab addresses would otherwise leave by
# the default route; this lower-priority route drops them instead. Kept by
# `down` on purpose; the bridge's own connected route wins while it is up.
GUARD_ROUTE=(blackhole "$NET.0/24" metric 4242)
ensure_guard_route() {
  [[ -n $(ip route show type blackhole "$NET.0/24") ]] || ip route add "${GUARD_ROUTE[@]}"
}

ensure_bridge() {
  ip link add "$BRIDGE" type bridge
  ip addr add "$BRIDGE_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

acng_pid() {
  local pid
  pid=$(cat /run/apt-cacher-ng/pid 2>/dev/null) || return 1
  [[ -n $pid && -d /proc/$pid ]] && echo "$pid"
}

ensure_acng() {
  local backend want
  backend=/etc/apt-cacher-ng/backends_debian
  want="$(mirror_uri)/"
  if [[ $(cat "$backend" 2>/dev/null) != "$want" ]]; then
    # The packaged default (ftp.debian.org) does not answer here; acng reads this at start.
    echo "$want" >"$backend"
    local pid
    if pid=$(acng_pid); then term_and_wait "$pid"; fi
  fi
  tcp_answers "$BRIDGE_IP" "$ACNG_PORT" && return 0
  # Mirrors /etc/init.d/apt-cacher-ng (no systemd here), but bound to the bridge only.
  rm -rf /run/apt-cacher-ng
  install -d -m 0755 -o apt-cacher-ng -g apt-cacher-ng /run/apt-cacher-ng
  start-stop-daemon --start --quiet --chuid apt-cacher-ng --group apt-cacher-ng \
    --pidfile /run/apt-cacher-ng/pid --exec /usr/sbin/apt-cacher-ng -- \
    -c /etc/apt-cacher-ng pidfile=/run/apt-cacher-ng/pid SocketPath=/run/apt-cacher-ng/socket \
    foreground=0 BindAddress="$BRIDGE_IP" Port="$ACNG_PORT" </dev/null >/dev/null 2>&1 8>&- 9>&- ||
    die "apt-cacher-ng failed to start (see /var/log/apt-cacher-ng/)"
  local i
  for i in $(seq 50); do tcp_answers "$BRIDGE_IP" "$ACNG_PORT" && return 0; sleep 0.1; done
  die "apt-cacher-ng does not answer on $BRIDGE_IP:$ACNG_PORT (see /var/log/apt-cacher-ng/)"
}

# Stops apt-cacher-ng only if it is the instance this script started (bound to the bridge).
stop_acng() {
  local pid
  pid=$(acng_pid) || return 0
  [[ $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") == *"BindAddress=$BRIDGE_IP"* ]] || return 0
  term_and_wait "$pid"
}

term_and_wait() {
  local pid=$1 i
  kill "$pid" 2>/dev/null || true
  for i in $(seq 50); do [[ -d /proc/$pid ]] || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------- base image

# Runs once per base build, inside the debootstrapped tree. Everything common to
# all hosts lives here; per-host bits (keys, hostname, authorized_keys) are
# written into each host's overlay at start. Editing this function changes the
# recipe hash and so triggers a rebuild.
customize_base() {
  local root=$1
  # Each host gets its own host keys, generated in its state dir.
  rm -f "$root"/etc/ssh/ssh_host_*
  # Hosts reach Debian only through apt-cacher-ng on the bridge address.
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $ACNG_URL/debian
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $ACNG_URL/debian-security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # apt-cacher-ng can stall a request when several hosts fetch the same file at once: time out and
  # retry instead of hanging a run for ever.
  printf '%s\n' 'Acquire::http::Timeout "30";' 'Acquire::Retries "5";' >"$root/etc/apt/apt.conf.d/80is-provision-lab"
  # No DNS in the lab; an empty resolv.conf makes lookups fail fast on loopback
  # instead of sending packets towards the control machine's resolver.
  echo "# is-provision lab: no DNS" >"$root/etc/resolv.conf"
  chroot "$root" useradd --create-home --shell /bin/bash deploy
  chroot "$root" useradd --create-home --shell /bin/bash --groups sudo alice
  # '*' (not the default '!') so the accounts are not "locked" for key logins.
  chroot "$root" usermod --password '*' deploy
  echo "alice:$ALICE_SUDO_PW" | chroot "$root" chpasswd
  echo "deploy ALL=(ALL) NOPASSWD: ALL" >"$root/etc/sudoers.d/deploy"
  chmod 0440 "$root/etc/sudoers.d/deploy"
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/log/*.log "$root"/var/cache/debconf/*-old
}

# A debootstrap whose `lab.sh up` was killed keeps running; we hold the cache
# lock, so anything still working on TMP is such an orphan.
kill_orphan_builds() {
  local tmp=$1 p i
  local -a pids
  for i in $(seq 50); do
    pids=()
    for p in /proc/[0-9]*; do
      if [[ $(tr '\0' ' ' 2>/dev/null <"$p/cmdline") == *"$tmp"* || $(readlink "$p/root" 2>/dev/null) == "$tmp"* ]]; then
        [[ ${p#/proc/} == "$$" || ${p#/proc/} == "$BASHPID" ]] || pids+=("${p#/proc/}")
      fi
    done
    ((${#pids[@]})) || return 0
    kill -9 "${pids[@]}" 2>/dev/null || true
    sleep 0.1
  done
  die "could not stop an earlier base build: ${pids[*]}"
}

base_recipe() { { declare -f customize_base; echo "$SUITE $BASE_PACKAGES"; } | sha256sum | cut -c1-16; }

ensure_base() {
  local recipe
  recipe=$(base_recipe)
  mkdir -p "$CACHE"
  exec 8>"$CACHE/.lock"
  flock -w 1800 8 || die "timed out waiting for $CACHE/.lock (another base build running?)"
  if [[ -d $BASE && $(cat "$BASE_MARKER" 2>/dev/null) == "$recipe" ]]; then
    exec 8>&-
    return 0
  fi
  note "building the Debian $SUITE base in $BASE (once; takes a few minutes)"
  local tmp=$BASE.tmp log=$CACHE/debootstrap.log
  rm -f "$BASE_MARKER"
  kill_orphan_builds "$tmp"
  # A killed debootstrap can leave /proc or /sys mounted in its target.
  unmount_under "$tmp"
  unmount_under "$BASE"
  rm -rf --one-file-system "$tmp" "$BASE"
  if ! debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$tmp" "$ACNG_URL/debian" \
    </dev/null >"$log" 2>&1 8>&- 9>&-; then
    unmount_under "$tmp"
    tail -n 20 "$log" >&2
    die "debootstrap failed (full log: $log)"
  fi
  unmount_under "$tmp"
  customize_base "$tmp" >>"$log" 2>&1 || { tail -n 20 "$log" >&2; die "customizing the base failed (log: $log)"; }
  mv "$tmp" "$BASE"
  echo "$recipe" >"$BASE_MARKER"
  exec 8>&-
}

# ---------------------------------------------------------------- hosts

# The lab's database password (inventory/lab reads it as a secret file), made once per state dir.
ensure_db_password() {
  [[ -s $STATE/db_password ]] && return 0
  (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$STATE/db_password")
}

ensure_client_key() {
  ensure_db_password
  [[ -f $STATE/id_ed25519 && -f $STATE/id_ed25519.pub ]] && return 0
  rm -f "$STATE/id_ed25519" "$STATE/id_ed25519.pub"
  ssh-keygen -q -t ed25519 -N '' -C is-provision-lab -f "$STATE/id_ed25519"
}

ensure_host_keys() {
  local name=$1 keys t
  keys=$(hdir "$name")/keys
  mkdir -p "$keys"
  for t in ed25519 ecdsa rsa; do
    [[ -f $keys/ssh_host_${t}_key && -f $keys/ssh_host_${t}_key.pub ]] && continue
    rm -f "$keys/ssh_host_${t}_key" "$keys/ssh_host_${t}_key.pub"
    ssh-keygen -q -t "$t" -N '' -C "root@$name" -f "$keys/ssh_host_${t}_key"
  done
  [[ -s $keys/machine-id ]] || od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$keys/machine-id"
}

setup_net() {
  local name=$1 ip=$2 ns veth
  ns=$(netns_of "$name")
  veth=$(veth_of "$name")
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip link set "$veth" master "$BRIDGE" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$ip/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "$BRIDGE_IP"
}

# Fresh overlay (empty upper dir) plus the per-host files written into it.
setup_fs() {
  local name=$1 h root user home
  h=$(hdir "$name")
  root=$h/root
  unmount_under "$root"
  rm -rf --one-file-system "$h/upper" "$h/work"
  mkdir -p "$h/upper" "$h/work" "$root"
  mount -t overlay overlay -o "lowerdir=$BASE,upperdir=$h/upper,workdir=$h/work" "$root"
  install -m 0600 "$h"/keys/ssh_host_*_key "$root/etc/ssh/"
  install -m 0644 "$h"/keys/ssh_host_*_key.pub "$root/etc/ssh/"
  install -m 0444 "$h/keys/machine-id" "$root/etc/machine-id"
  echo "$name" >"$root/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' "$name" >"$root/etc/hosts"
  for user in root deploy alice; do
    if [[ $user == root ]]; then home=/root; else home=/home/$user; fi
    install -d -m 0700 "$root$home/.ssh"
    install -m 0600 "$STATE/id_ed25519.pub" "$root$home/.ssh/authorized_keys"
    chroot "$root" chown -R "$user:$user" "$home/.ssh"
  done
}

start_host() {
  local name=$1 h
  h=$(hdir "$name")
  setsid ip netns exec "$(netns_of "$name")" \
    unshare --mount --uts --pid --fork --kill-child -- "${HOST_ENV[@]}" bash "$SCRIPT" __init "$name" "$h/root" \
    </dev/null >"$h/sshd.log" 2>&1 8>&- 9>&- &
}

wait_host() {
  local name=$1 ip=$2 i
  for i in $(seq 100); do
    [[ $(ssh_banner "$ip") == SSH- ]] && return 0
    sleep 0.1
  done
  tail -n 20 "$(hdir "$name")/sshd.log" >&2 || true
  die "sshd on $name ($ip) did not answer within 10s (log: $(hdir "$name")/sshd.log)"
}

# PID 1 of a host: runs inside its fresh mount/uts/pid namespaces, before chroot.
# Gets the root as an argument because the environment (IS_PROVISION_LAB_DIR) was cleared.
host_init() {
  local name=$1 root=$2
  hostname "$name"
  mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
  mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys"
  # A private /dev with only the usual nodes: the control machine's disks stay out of reach.
  mount -t tmpfs -o nosuid,mode=0755,size=64k tmpfs "$root/dev"
  mknod -m 0666 "$root/dev/null" c 1 3
  mknod -m 0666 "$root/dev/zero" c 1 5
  mknod -m 0666 "$root/dev/full" c 1 7
  mknod -m 0666 "$root/dev/random" c 1 8
  mknod -m 0666 "$root/dev/urandom" c 1 9
  mknod -m 0666 "$root/dev/tty" c 5 0
  ln -s /proc/self/fd "$root/dev/fd"
  ln -s /proc/self/fd/0 "$root/dev/stdin"
  ln -s /proc/self/fd/1 "$root/dev/stdout"
  ln -s /proc/self/fd/2 "$root/dev/stderr"
  mkdir "$root/dev/pts" "$root/dev/shm"
  mount -t devpts -o newinstance,nosuid,noexec,gid=5,mode=0620,ptmxmode=0666 devpts "$root/dev/pts"
  ln -s pts/ptmx "$root/dev/ptmx"
  mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs "$root/dev/shm"
  # /run is a tmpfs as on a booted Debian (sshd, sudo, utmp and pid files live there);
  # /tmp stays on disk, as is Debian 12's default.
  mount -t tmpfs -o nosuid,nodev,mode=0755,size=64m tmpfs "$root/run"
  mkdir -m 1777 "$root/run/lock"
  mkdir -m 0755 "$root/run/sshd"
  : >"$root/run/utmp"
  # bash as PID 1 reaps orphans (daemons started with `service ... start`) and,
  # unlike `sshd -D` as PID 1, survives `service ssh restart` inside the host.
  exec chroot "$root" /bin/bash -c '
    /usr/sbin/sshd -D -e &
    exec </dev/null
    while :; do sleep 86400 & wait; done'
}

host_pid1() {
  local root p r
  root=$(hdir "$1")/root
  for p in /proc/[0-9]*; do
    r=$(readlink "$p/root" 2>/dev/null) || continue
    [[ $r == "$root" ]] || continue
    if grep -qE '^NSpid:.*[[:space:]]1$' "$p/status" 2>/dev/null; then echo "${p#/proc/}"; return 0; fi
  done
  return 1
}

# Sets HOST_IP (not echoed: die must not run in a $(...) subshell).
host_ip() {
  HOST_IP=$(awk -v n="$1" '$1 == n { print $2 }' "$STATE/hosts.list" 2>/dev/null) || true
  [[ -n $HOST_IP ]] || die "no host '$1' in the running lab (lab.sh up first?)"
}

json_str() { local s=${1//\\/\\\\}; printf '"%s"' "${s//\"/\\\"}"; }

write_client_files() {
  local -a names=("$@")
  local name ip t kh=$STATE/known_hosts.tmp cfg=$STATE/ssh_config.tmp js=$STATE/hosts.json.tmp sep=""
  : >"$kh"
  : >"$cfg"
  echo "[" >"$js"
  for name in "${names[@]}"; do
    host_ip "$name"
    ip=$HOST_IP
    for t in ed25519 ecdsa rsa; do
      echo "$ip $(cut -d' ' -f1-2 "$(hdir "$name")/keys/ssh_host_${t}_key.pub")" >>"$kh"
    done
    cat >>"$cfg" <<EOF
Host $name
  HostName $ip
  User root
  IdentityFile "$STATE/id_ed25519"
  IdentitiesOnly yes
  UserKnownHostsFile "$STATE/known_hosts"
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  UpdateHostKeys no
  BatchMode yes
  LogLevel ERROR

EOF
    printf '%s  { "name": %s, "ip": %s, "root": %s }' "$sep" "$(json_str "$name")" "$(json_str "$ip")" \
      "$(json_str "$(hdir "$name")/root")" >>"$js"
    sep=$',\n'
  done
  printf '\n]\n' >>"$js"
  mv "$kh" "$STATE/known_hosts"
  mv "$cfg" "$STATE/ssh_config"
  mv "$js" "$STATE/hosts.json"
}

# ---------------------------------------------------------------- commands

cmd_up() {
  (($#)) || die "usage: lab.sh up NAME=IP [NAME=IP ...]"
  local arg name ip last
  local -a names=() ips=()
  for arg in "$@"; do
    [[ $arg == *=* ]] || die "expected NAME=IP, got '$arg'"
    name=${arg%%=*}
    ip=${arg#*=}
    [[ $name =~ ^[a-z][a-z0-9-]{0,62}$ ]] || die "bad host name '$name' (lowercase letters, digits, '-')"
    [[ $ip =~ ^${NET//./\\.}\.([0-9]{1,3})$ ]] || die "bad IP '$ip' for $name: must be in $NET.0/24"
    last=${BASH_REMATCH[1]}
    ((last >= 2 && last <= 254)) || die "bad IP '$ip' for $name: use $NET.2 to $NET.254 ($BRIDGE_IP is the bridge)"
    [[ " ${names[*]} " != *" $name "* ]] || die "host name '$name' given twice"
    [[ " ${ips[*]} " != *" $ip "* ]] || die "IP '$ip' given twice"
    names+=("$name")
    ips+=("$ip")
  done
  need_root
  lock_state
  ensure_guard_route
  teardown_all
  echo "$STATE" >"$ACTIVE"
  ensure_bridge
  ensure_acng
  ensure_base
  ensure_client_key
  ln -sfn "$BASE" "$STATE/base"
  : >"$STATE/hosts.list.tmp"
  local i
  for i in "${!names[@]}"; do
    ensure_host_keys "${names[i]}"
    setup_net "${names[i]}" "${ips[i]}"
    setup_fs "${names[i]}"
    start_host "${names[i]}"
    echo "${names[i]} ${ips[i]}" >>"$STATE/hosts.list.tmp"
  done
  mv "$STATE/hosts.list.tmp" "$STATE/hosts.list"
  for i in "${!names[@]}"; do wait_host "${names[i]}" "${ips[i]}"; done
  write_client_files "${names[@]}"
}

# apt-cacher-ng keeps running: it holds no lab state, and stopping it takes
# ~1.5s, which every test file's down/up cycle would pay. `purge` stops it.
cmd_down() {
  need_root
  lock_state
  teardown_all
}

cmd_reset() {
  (($# == 1)) || die "usage: lab.sh reset NAME"
  local name=$1 ip root
  need_root
  lock_state
  host_ip "$name"
  ip=$HOST_IP
  root=$(hdir "$name")/root
  kill_all "$root" "$(netns_of "$name")"
  port_free "$name"
  setup_fs "$name"
  start_host "$name"
  wait_host "$name" "$ip"
}

# A killed sshd can leave its listening socket behind for a moment; a new one would then fail with
# "Address already in use".
port_free() {
  local i
  for i in $(seq 50); do
    [[ -z $(ip netns exec "$(netns_of "$1")" ss -Hltn 'sport = :22' 2>/dev/null) ]] && return 0
    sleep 0.1
  done
  die "port 22 of $1 is still taken after its sshd was killed"
}

cmd_exec() {
  (($# >= 1)) || die "usage: lab.sh exec NAME -- CMD..."
  local name=$1 pid
  shift
  [[ ${1:-} == -- ]] && shift
  (($#)) || die "usage: lab.sh exec NAME -- CMD..."
  need_root
  pid=$(host_pid1 "$name") || die "host '$name' is not running"
  exec nsenter --target "$pid" --mount --uts --net --pid --root --wd -- \
    "${HOST_ENV[@]}" HOME=/root USER=root LOGNAME=root TERM="${TERM:-dumb}" "$@"
}

cmd_ssh() {
  (($# >= 1)) || die "usage: lab.sh ssh NAME [SSH ARGS...]"
  [[ -f $STATE/ssh_config ]] || die "lab is not up"
  exec ssh -F "$STATE/ssh_config" "$@"
}

bridge_up() { [[ $(ip -o addr show dev "$BRIDGE" 2>/dev/null) == *" $BRIDGE_IP/"* ]]; }

cmd_status() {
  local name ip pid
  # Never probe lab addresses without the bridge: the packets would leave by the default route.
  if ! bridge_up; then
    echo "bridge  $BRIDGE: absent (lab is down)"
    return 0
  fi
  echo "bridge  $BRIDGE $BRIDGE_IP/24"
  if tcp_answers "$BRIDGE_IP" "$ACNG_PORT"; then echo "apt     $ACNG_URL (apt-cacher-ng, backend $(cat /etc/apt-cacher-ng/backends_debian))"
  else echo "apt     $ACNG_URL: not answering"; fi
  if [[ -d $BASE && $(cat "$BASE_MARKER" 2>/dev/null) == "$(base_recipe)" ]]; then echo "base    $BASE"
  else echo "base    $BASE: not built (or outdated)"; fi
  echo "state   $STATE"
  [[ -f $STATE/hosts.list ]] || { echo "hosts   none"; return 0; }
  while read -r name ip; do
    if pid=$(host_pid1 "$name") && [[ $(ssh_banner "$ip") == SSH- ]]; then
      echo "host    $name $ip up (pid $pid)"
    else
      echo "host    $name $ip DOWN"
    fi
  done <"$STATE/hosts.list"
}

cmd_purge() {
  cmd_down
  stop_acng
  ip route del "${GUARD_ROUTE[@]}" 2>/dev/null || true
  rm -rf --one-file-system "$STATE"
}

main() {
  local cmd=${1:-help}
  (($#)) && shift
  SUBCOMMAND=$cmd
  trap 'on_exit $? "$BASH_COMMAND"' EXIT
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down ;;
    reset) cmd_reset "$@" ;;
    exec) cmd_exec "$@" ;;
    ssh) cmd_ssh "$@" ;;
    status) cmd_status ;;
    purge) cmd_purge ;;
    __init) host_init "$@" ;;
    help | -h | --help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
