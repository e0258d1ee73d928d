#!/usr/bin/env bash
# mdns-lab.sh - a simulated LAN of hosts, each with its own avahi-daemon, for the LAN (mDNS / DNS-SD) tests.
#
# Each "host" is a network namespace whose eth0 (one end of a veth pair) is plugged into a bridge that lives
# in a separate "switch" namespace, so the machine's own network namespace is never touched. Each host gets
# its own system D-Bus (dbus-daemon, private socket) and its own avahi-daemon. No systemd needed. Commands run
# "on" a host through `ip netns exec`, whose private mount namespace lets the host's own /run/dbus and
# /run/avahi-daemon be bind-mounted over the real ones (avahi's pid file path is compiled in).
#
#   mdns-lab.sh up [--no-avahi] [HOST...]  start hosts (default: a b); runs "down" first. With --no-avahi (or
#                                          MDNS_LAB_NO_AVAHI=1) each host gets its D-Bus but no avahi-daemon
#   mdns-lab.sh exec HOST CMD...           run CMD on HOST (its netns, its bus, its /run/avahi-daemon);
#                                          the command replaces this script's process (same pid)
#   mdns-lab.sh start-avahi HOST           start HOST's avahi-daemon (no-op if running); wait until running
#   mdns-lab.sh stop-avahi HOST            SIGTERM HOST's avahi-daemon and wait until it has exited
#   mdns-lab.sh restart-avahi HOST         stop-avahi, then start-avahi
#   mdns-lab.sh avahi-pid HOST             print the pid of HOST's avahi-daemon (exit 1 if none)
#   mdns-lab.sh env HOST                   print the DBUS_SYSTEM_BUS_ADDRESS export for HOST
#   mdns-lab.sh addr HOST [4|6]            print HOST's eth0 address (IPv4 unless 6)
#   mdns-lab.sh status                     list the lab's namespaces and daemons
#   mdns-lab.sh down                       kill every process inside the lab's namespaces, delete them
#
# Root only. Host N (1-based, in the order given to "up") gets $MDNS_LAB_NET4.N/24 and, with IPv6 on,
# $MDNS_LAB_NET6 N/64. Knobs:
#   MDNS_LAB_PREFIX (zrlab)   names: namespaces PREFIX-HOST and PREFIX-sw, avahi host names PREFIX-HOST.local
#   MDNS_LAB_DIR (/tmp/PREFIX.state)  state (configs, sockets, logs); deleted by "down": keep nothing else there
#   MDNS_LAB_NET4 (169.254.77) -> /24   MDNS_LAB_NET6 (fd42:77::) -> /64   MDNS_LAB_IPV6 (yes|no, default yes)
#   MDNS_LAB_NO_AVAHI=1       as up --no-avahi       MDNS_LAB_DEBUG=1   avahi-daemon --debug
# Logs: $MDNS_LAB_DIR/HOST/avahi.log (appended to across restarts).
# With IPv6 on, a browser sees every service twice (once per protocol).
set -euo pipefail

P=${MDNS_LAB_PREFIX:-zrlab}
ROOT=${MDNS_LAB_DIR:-/tmp/$P.state}
NET4=${MDNS_LAB_NET4:-169.254.77}
NET6=${MDNS_LAB_NET6:-fd42:77::}
IPV6=${MDNS_LAB_IPV6:-yes}
SW=$P-sw
SELF=$(readlink -f "$0")

die() { echo "mdns-lab: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "must run as root"; }
bus() { echo "unix:path=$ROOT/$1/dbus/system_bus_socket"; }
host_dir() { [ -d "$ROOT/$1" ] && [ -e "$ROOT/.mdns-lab" ] || die "no such host: $1 (is the lab up?)"; }

[[ $P =~ ^[a-z][a-z0-9]{0,9}$ ]] || die "MDNS_LAB_PREFIX must be 1-10 characters of a-z0-9, starting with a letter"
[[ $IPV6 == yes || $IPV6 == no ]] || die "MDNS_LAB_IPV6 must be yes or no"

ensure_prereqs() {
  need_root
  local pkgs=() b
  for b in avahi-daemon:avahi-daemon avahi-browse:avahi-utils dbus-daemon:dbus \
           dbus-send:dbus ip:iproute2 setsid:util-linux; do
    command -v "${b%%:*}" >/dev/null || pkgs+=("${b#*:}")
  done
  [ -e /usr/include/avahi-client/client.h ] || pkgs+=(libavahi-client-dev)
  [ -e /usr/share/dbus-1/system.conf ] || pkgs+=(dbus)
  if [ ${#pkgs[@]} -gt 0 ]; then
    echo "mdns-lab: installing ${pkgs[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  fi
  # avahi-daemon looks this user up (make_runtime_dir) even with --no-drop-root.
  getent group avahi >/dev/null || groupadd -r avahi
  getent passwd avahi >/dev/null ||
    useradd -r -g avahi -d /run/avahi-daemon -s /usr/sbin/nologin avahi
  # The system bus config says <user>messagebus</user>.
  getent group messagebus >/dev/null || groupadd -r messagebus
  getent passwd messagebus >/dev/null ||
    useradd -r -g messagebus -d /nonexistent -s /usr/sbin/nologin messagebus
  mkdir -p /run/dbus /run/avahi-daemon   # mount points for the per-host bind mounts
}

# in_host [--exec] HOST CMD... : `ip netns exec` gives a fresh mount namespace (/ made rslave, so nothing
# leaks out); bind the host's private /run/dbus and /run/avahi-daemon over the real ones and export its bus
# address. Every step execs, so CMD ends up with this process's pid.
in_host() {
  local ex=; [ "$1" = --exec ] && { ex=exec; shift; }
  local h=$1; shift
  host_dir "$h"
  $ex ip netns exec "$P-$h" env DBUS_SYSTEM_BUS_ADDRESS="$(bus "$h")" sh -c '
    mount --bind "$1/dbus" /run/dbus &&
    mount --bind "$1/run-avahi" /run/avahi-daemon || exit 125
    shift; exec "$@"' sh "$ROOT/$h" "$@"
}

# alive PID: the process exists and is not a zombie (nobody may reap a setsid -f'd daemon at once).
alive() { local s; s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1; [ -n "$s" ] && [ "$s" != Z ]; }

# avahi_pids HOST: the avahi-daemon processes inside HOST's namespace (only ours, never the machine's).
avahi_pids() {
  local p
  for p in $(ip netns pids "$P-$1" 2>/dev/null || true); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = avahi-daemon ] && alive "$p" && echo "$p"
  done
  return 0
}

avahi_state() {  # HOST -> Server.GetState's int32 (2 = running) or nothing
  DBUS_SYSTEM_BUS_ADDRESS=$(bus "$1") timeout 5 dbus-send --system --print-reply=literal \
    --dest=org.freedesktop.Avahi / org.freedesktop.Avahi.Server.GetState 2>/dev/null | awk '{print $2}' || true
}

wait_avahi_running() {  # HOST
  local i
  for i in $(seq 150); do
    [ "$(avahi_state "$1")" = 2 ] && return 0
    [ -n "$(avahi_pids "$1")" ] || [ "$i" -lt 20 ] ||
      { tail -20 "$ROOT/$1/avahi.log" >&2; die "avahi-daemon on $1 exited"; }
    sleep 0.1
  done
  tail -20 "$ROOT/$1/avahi.log" >&2
  die "avahi-daemon on $1 not running after 15 s"
}

start_avahi() {  # HOST
  local h=$1
  host_dir "$h"
  if [ -n "$(avahi_pids "$h")" ]; then wait_avahi_running "$h"; return 0; fi
  rm -f "$ROOT/$h/run-avahi/pid"   # stale after a kill -9; avahi would trust a reused pid
  echo "---- $(date '+%F %T') starting avahi-daemon" >>"$ROOT/$h/avahi.log"
  # In the foreground (its log to a file) in a detached session: --no-drop-root implies no chroot.
  setsid -f bash -c 'exec "$@" >>"$0" 2>&1 </dev/null' "$ROOT/$h/avahi.log" \
    bash "$SELF" __in_host "$h" avahi-daemon -f "$ROOT/$h/avahi-daemon.conf" \
    --no-drop-root --no-chroot ${MDNS_LAB_DEBUG:+--debug}
  wait_avahi_running "$h"
}

stop_avahi() {  # HOST: SIGTERM (the daemon sends its goodbyes), wait for the exit
  local h=$1 pids i
  host_dir "$h"
  pids=$(avahi_pids "$h")
  [ -n "$pids" ] || return 0
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  for i in $(seq 100); do
    [ -n "$(avahi_pids "$h")" ] || { rm -f "$ROOT/$h/run-avahi/pid"; return 0; }
    sleep 0.1
  done
  echo "mdns-lab: avahi-daemon on $h ignored SIGTERM for 10 s; SIGKILL" >&2
  # shellcheck disable=SC2086
  kill -KILL $(avahi_pids "$h") 2>/dev/null || true
  sleep 0.2
  rm -f "$ROOT/$h/run-avahi/pid"
}

down() {
  need_root
  local ns pids i
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^$P-" || true); do
    for i in $(seq 25); do
      pids=$(ip netns pids "$ns" 2>/dev/null || true)  # only processes in OUR namespaces
      [ -z "$pids" ] && break
      # shellcheck disable=SC2086
      if [ "$i" -lt 15 ]; then kill $pids 2>/dev/null || true
      else kill -9 $pids 2>/dev/null || true; fi
      sleep 0.2
    done
    ip netns del "$ns"        # destroys its veth ends and, for the switch, the bridge
  done
  if [ -e "$ROOT/.mdns-lab" ]; then rm -rf "$ROOT"; fi   # only a dir that up created
}

write_configs() {   # HOST
  local h=$1 d=$ROOT/$1
  mkdir -p "$d/dbus" "$d/run-avahi"
  # Stock system-bus config with socket and pidfile moved into $d/dbus; the relative
  # <includedir>system.d</includedir> (resolved against the config file's directory) made absolute so
  # avahi-dbus.conf's policy still applies.
  sed -e "s#<pidfile>/run/dbus/pid</pidfile>#<pidfile>$d/dbus/pid</pidfile>#" \
      -e "s#unix:path=/run/dbus/system_bus_socket#$(bus "$h")#" \
      -e "s#<includedir>system.d</includedir>#<includedir>/usr/share/dbus-1/system.d</includedir>#" \
      -e "s#<syslog/>##" /usr/share/dbus-1/system.conf > "$d/dbus/system.conf"
  grep -q "$(bus "$h")" "$d/dbus/system.conf" || die "unexpected /usr/share/dbus-1/system.conf (no socket line)"
  # [rlimits] stays empty: Debian's rlimit-nproc=3 breaks a second daemon.
  cat > "$d/avahi-daemon.conf" <<EOF
[server]
host-name=$P-$h
domain-name=local
use-ipv4=yes
use-ipv6=$IPV6
allow-interfaces=eth0
enable-dbus=yes
disallow-other-stacks=no
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
[reflector]
enable-reflector=no
[rlimits]
EOF
}

up() {
  local no_avahi=${MDNS_LAB_NO_AVAHI:-0}
  [ "${1:-}" = --no-avahi ] && { no_avahi=1; shift; }
  [ "$no_avahi" = 0 ] || [ "$no_avahi" = 1 ] || die "MDNS_LAB_NO_AVAHI must be 0 or 1"
  local hosts=("$@") h ns i=0 seen=" "
  [ ${#hosts[@]} -gt 0 ] || hosts=(a b)
  [ ${#hosts[@]} -le 250 ] || die "too many hosts"
  for h in "${hosts[@]}"; do
    [[ $h =~ ^[a-z][a-z0-9]{0,11}$ && $h != sw ]] || die "bad host name '$h' (1-12 of a-z0-9, not 'sw')"
    [[ $seen != *" $h "* ]] || die "host $h given twice"
    seen+="$h "
  done
  ensure_prereqs
  down
  if [ -e "$ROOT" ] && [ -n "$(ls -A "$ROOT")" ]; then die "$ROOT exists and is not a lab dir"; fi
  mkdir -p "$ROOT"; touch "$ROOT/.mdns-lab"
  ip netns add "$SW"
  ip -n "$SW" link set lo up
  ip -n "$SW" link add br0 type bridge mcast_snooping 0 stp_state 0
  ip -n "$SW" link set br0 up
  for h in "${hosts[@]}"; do
    i=$((i + 1)); ns=$P-$h
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip link add eth0 netns "$ns" type veth peer name "p-$h" netns "$SW"
    ip -n "$SW" link set "p-$h" master br0 up
    ip -n "$ns" link set eth0 multicast on up
    ip -n "$ns" addr add "$NET4.$i/24" dev eth0
    if [ "$IPV6" = yes ]; then
      ip netns exec "$ns" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=0 net.ipv6.conf.lo.disable_ipv6=0
      ip -n "$ns" addr add "$NET6$i/64" dev eth0 nodad
    fi
    ip -n "$ns" route add 224.0.0.0/4 dev eth0   # for stacks that don't set IP_MULTICAST_IF
    write_configs "$h"
    in_host "$h" dbus-daemon --config-file="$ROOT/$h/dbus/system.conf" --fork
    [ "$no_avahi" = 1 ] || start_avahi_nowait "$h"
  done
  for h in "${hosts[@]}"; do
    [ "$no_avahi" = 1 ] || wait_avahi_running "$h"
    local a6= av="not started"
    [ "$IPV6" = no ] || a6=" $(addr "$h" 6)"
    [ "$no_avahi" = 1 ] || av="pid $(avahi_pids "$h" | head -1)"
    echo "host $h: netns $P-$h eth0 $(addr "$h" 4)$a6 avahi $av DBUS_SYSTEM_BUS_ADDRESS=$(bus "$h")"
  done
}

start_avahi_nowait() {  # HOST: as start_avahi, hosts started in parallel and waited for afterwards
  local h=$1
  rm -f "$ROOT/$h/run-avahi/pid"
  echo "---- $(date '+%F %T') starting avahi-daemon" >>"$ROOT/$h/avahi.log"
  setsid -f bash -c 'exec "$@" >>"$0" 2>&1 </dev/null' "$ROOT/$h/avahi.log" \
    bash "$SELF" __in_host "$h" avahi-daemon -f "$ROOT/$h/avahi-daemon.conf" \
    --no-drop-root --no-chroot ${MDNS_LAB_DEBUG:+--debug}
}

addr() {  # HOST [4|6]
  host_dir "$1"
  if [ "${2:-4}" = 6 ]; then
    ip -n "$P-$1" -o -6 addr show dev eth0 scope global | awk '{sub("/.*", "", $4); print $4; exit}'
  else
    ip -n "$P-$1" -o -4 addr show dev eth0 | awk '{sub("/.*", "", $4); print $4; exit}'
  fi
}

status() {
  local ns h pids
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^$P-" || true); do
    h=${ns#"$P-"}
    if [ "$h" = sw ]; then echo "$ns: switch"; continue; fi
    pids=$(avahi_pids "$h" | paste -sd" ")
    echo "$ns: eth0 $(addr "$h" 4 2>/dev/null) $(addr "$h" 6 2>/dev/null)" \
         "avahi ${pids:-not running} processes $(ip netns pids "$ns" | wc -l)"
  done
}

cmd=${1:-}; shift || true
case $cmd in
  up)            up "$@" ;;
  down)          down ;;
  exec)          [ $# -ge 2 ] || die "usage: exec HOST CMD..."; in_host --exec "$@" ;;
  __in_host)     in_host --exec "$@" ;;
  start-avahi)   [ $# = 1 ] || die "usage: start-avahi HOST"; need_root; start_avahi "$1" ;;
  stop-avahi)    [ $# = 1 ] || die "usage: stop-avahi HOST"; need_root; stop_avahi "$1" ;;
  restart-avahi) [ $# = 1 ] || die "usage: restart-avahi HOST"; need_root; stop_avahi "$1"; start_avahi "$1" ;;
  avahi-pid)     [ $# = 1 ] || die "usage: avahi-pid HOST"; host_dir "$1"
                 pids=$(avahi_pids "$1"); [ -n "$pids" ] || exit 1; echo "$pids" ;;
  env)           [ $# = 1 ] || die "usage: env HOST"; host_dir "$1"; echo "export DBUS_SYSTEM_BUS_ADDRESS=$(bus "$1")" ;;
  addr)          [ $# -ge 1 ] || die "usage: addr HOST [4|6]"; addr "$@" ;;
  status)        status ;;
  *)             sed -n '2,33p' "$SELF"; exit 2 ;;
esac
