#!/usr/bin/env bash
# The multi-host lab: simulated hosts on one machine. A host is a network namespace plus a PID
# namespace (its init takes every process of the host with it: agent, Open vSwitch,
# ovn-controller, QEMU). A switch namespace joins the hosts' management, tunnel (Geneve) and
# provider NICs on three bridges; the root namespace reaches management (the controller and OVN's
# databases live there) and a namespace "out" stands on the provider network as its gateway.
# Each host has a BMC (ipmi_sim on loopback) whose power-on starts the host and whose power-off
# kills it, and a hardware watchdog: a process outside the host reading the FIFO DIR/hosts/H/watchdog
# (opened and written to as /dev/watchdog would be) that kills the host when the petting stops for
# WATCHDOG_TIMEOUT seconds (default 4; "V" disarms, as the magic close does).
# Everything a lab makes carries its prefix hl<K>, and its state lives in one directory.
#
#   lab.sh create DIR HOSTS          make the lab (hosts stay off); prints the lab's prefix
#   lab.sh power-on|power-off DIR H  through the host's BMC, with ipmitool, as an outage would look
#   lab.sh freeze|thaw DIR H         cgroup v2 freeze of every process of the host
#   lab.sh cut|restore DIR H         drop every frame to and from the host at the switch
#   lab.sh exec DIR H CMD...         run CMD inside the host (its PID, mount, net and UTS namespaces)
#   lab.sh watchdog-lie DIR H [S]    the host's watchdog fires after S seconds while still reporting
#                                    WATCHDOG_TIMEOUT (no S: honest again)
#   lab.sh list DIR [--format json]  hosts, addresses, init pids, power, BMC endpoints
#   lab.sh destroy DIR               power everything off and remove all of it
# A host runs DIR/hosts/H/boot.sh when it powers on (restarted if it exits), if that file exists.
set -euo pipefail

LAB_SH=$(readlink -f "${BASH_SOURCE[0]}")
BMC_USER=admin
BMC_PASSWORD=halcyon-bmc

die() { echo "lab: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }

load() {
  DIR=$(readlink -f "$1")
  [ -f "$DIR/lab.env" ] || die "no lab in $DIR"
  # shellcheck disable=SC1091
  . "$DIR/lab.env"
}

host_ok() {
  [ -d "$DIR/hosts/$1" ] || die "no host $1 in the lab (hosts: $HOSTS)"
}

cgroup_root() {
  if [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then echo /sys/fs/cgroup/unified
  elif [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then echo /sys/fs/cgroup
  else echo ""; fi
}

noofl() { ip netns exec "$1" ethtool -K "$2" tx off >/dev/null 2>&1 || true; }

ns_init() {
  ip netns add "$1"
  ip -n "$1" link set lo up
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 || true
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

cmd_create() {
  local dir=$1 n=$2 k i
  [[ "$n" =~ ^[0-9]+$ && $n -ge 1 && $n -le 16 ]] || die "the number of hosts must be 1 to 16, not $n"
  mkdir -p "$dir"; dir=$(readlink -f "$dir")
  [ ! -f "$dir/lab.env" ] || die "$dir already holds a lab; destroy it first"
  for k in $(seq 1 199); do
    [ -e "/run/netns/hl$k-sw" ] || break
  done
  [ ! -e "/run/netns/hl$k-sw" ] || die "no free lab number (hl1-hl199 are all in use)"
  local p=hl$k hosts="" cg
  for i in $(seq 1 "$n"); do hosts="$hosts host$i"; done
  cg=$(cgroup_root)
  cat > "$dir/lab.env" <<ENV
PREFIX=$p
K=$k
HOSTS="${hosts# }"
MGMT_NET=10.200.$k
TUN_NET=10.201.$k
PROV_NET=10.202.$k
ROOT_IF=$p-mgmt
CGROOT=$cg
WATCHDOG_TIMEOUT=${WATCHDOG_TIMEOUT:-4}
ENV
  load "$dir"
  mkdir -p "$DIR/hosts"
  # the switch: three bridges
  ns_init "$p-sw"
  for b in mgmt tun prov; do
    ip -n "$p-sw" link add "$b" type bridge stp_state 0 forward_delay 0
    ip -n "$p-sw" link set "$b" up
  done
  # the root namespace on management: the controller and OVN's databases are reached here
  ip link add "$ROOT_IF" type veth peer name root-m netns "$p-sw"
  ip -n "$p-sw" link set root-m master mgmt up
  noofl "$p-sw" root-m
  ethtool -K "$ROOT_IF" tx off >/dev/null 2>&1 || true
  ip addr add "$MGMT_NET.1/24" dev "$ROOT_IF"
  ip link set "$ROOT_IF" up
  # outside: the provider network's gateway, where floating IPs are reached from
  ns_init "$p-out"
  ip link add out-p netns "$p-sw" type veth peer name out0 netns "$p-out"
  ip -n "$p-sw" link set out-p master prov up
  noofl "$p-sw" out-p; noofl "$p-out" out0
  ip -n "$p-out" addr add "$PROV_NET.1/24" dev out0
  ip -n "$p-out" link set out0 up
  for i in $(seq 1 "$n"); do make_host "host$i" "$i"; done
  echo "$p"
}

make_host() {
  local h=$1 i=$2 ns=$PREFIX-$1 hd=$DIR/hosts/$1
  mkdir -p "$hd/bmc"
  ns_init "$ns"
  ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 >/dev/null 2>&1 || true
  local pair
  for pair in "m:mgmt0:mgmt" "t:tun0:tun" "p:prov0:prov"; do
    IFS=: read -r suffix inner bridge <<< "$pair"
    ip link add "$h-$suffix" netns "$PREFIX-sw" type veth peer name "$inner" netns "$ns"
    ip -n "$PREFIX-sw" link set "$h-$suffix" master "$bridge" up
    # OVS reads these with AF_PACKET: half-checksummed frames would reach guests with bad TCP checksums
    noofl "$PREFIX-sw" "$h-$suffix"; noofl "$ns" "$inner"
  done
  ip -n "$ns" addr add "$MGMT_NET.$((10 + i))/24" dev mgmt0
  ip -n "$ns" addr add "$TUN_NET.$((10 + i))/24" dev tun0
  ip -n "$ns" link set mgmt0 up
  ip -n "$ns" route add default via "$MGMT_NET.1" dev mgmt0
  [ -z "$CGROOT" ] || mkdir -p "$CGROOT/$PREFIX-$h"
  # the BMC
  local port serial guid
  port=$(free_port); serial=$(free_port)
  guid=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  cat > "$hd/bmc/lan.conf" <<CONF
name "$PREFIX-$h"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 $port
    priv_limit admin
    guid $guid
  endlan
  serial 15 127.0.0.1 $serial codec VM
  startcmd "$LAB_SH power-start $DIR $h"
  startnow false
  poweroff_wait 1
  kill_wait 2
  user 2 true "$BMC_USER" "$BMC_PASSWORD" admin 10 md5
CONF
  printf 'mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02\nmc_enable 0x20\n' > "$hd/bmc/sim.emu"
  mkdir -p "$hd/bmc/state"
  echo "$port" > "$hd/bmc/port"
  # the watchdog: outside the host's namespaces and cgroup, as hardware is
  mkfifo "$hd/watchdog"
  setsid "$LAB_SH" watchdog "$DIR" "$h" < /dev/null >> "$hd/watchdog.log" 2>&1 &
  echo $! > "$hd/watchdog.pid"
  setsid ipmi_sim -c "$hd/bmc/lan.conf" -f "$hd/bmc/sim.emu" -s "$hd/bmc/state" -n < /dev/null > "$hd/bmc/ipmi_sim.log" 2>&1 &
  echo $! > "$hd/bmc/pid"
  local t
  for t in $(seq 1 100); do
    ipmi "$h" chassis power status >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "the BMC of $h did not answer; see $hd/bmc/ipmi_sim.log"
}

ipmi() {
  local h=$1; shift
  ipmitool -I lanplus -C 3 -H 127.0.0.1 -p "$(cat "$DIR/hosts/$h/bmc/port")" -U "$BMC_USER" -P "$BMC_PASSWORD" "$@"
}

# ipmi_sim's startcmd: the host lives exactly as long as this runs; power-off is SIGTERM to it
cmd_power_start() {
  load "$1"; local h=$2 ns hd
  ns=$PREFIX-$h; hd=$DIR/hosts/$h
  echo $$ > "$hd/power.pid"
  local u
  # the subshell joins the host's cgroup first, so every process of the host can be frozen
  ( [ -z "$CGROOT" ] || echo "$BASHPID" > "$CGROOT/$PREFIX-$h/cgroup.procs"
    exec ip netns exec "$ns" setpriv --pdeathsig KILL unshare --pid --fork --kill-child --mount-proc --uts \
      "$LAB_SH" init "$DIR" "$h" ) < /dev/null >> "$hd/init.log" 2>&1 &
  u=$!
  trap 'kill -KILL $u 2>/dev/null; wait $u 2>/dev/null; rm -f "$hd/init.pid" "$hd/unshare.pid"; exit 0' TERM
  local init="" t
  for t in $(seq 1 300); do
    init=$(cat "/proc/$u/task/$u/children" 2>/dev/null | awk '{print $1}')
    [ -n "$init" ] && break
    sleep 0.01
  done
  echo "$u" > "$hd/unshare.pid"; echo "$init" > "$hd/init.pid"
  wait "$u" || true
  rm -f "$hd/init.pid" "$hd/unshare.pid" "$hd/power.pid"
}

# PID 1 of a host: runs boot.sh and restarts it if it exits, reaps orphans
cmd_init() {
  local dir=$1 h=$2
  hostname "$h"
  for l in /sys/class/net/*; do ip link set "$(basename "$l")" up 2>/dev/null || true; done
  echo "[$(date +%T.%3N)] $h: powered on"
  trap 'exit 0' TERM
  if [ -x "$dir/hosts/$h/boot.sh" ]; then
    ( while :; do "$dir/hosts/$h/boot.sh" >> "$dir/hosts/$h/boot.log" 2>&1 < /dev/null || true; sleep 1; done ) &
  fi
  while :; do sleep 5 & wait $! || true; done
}

# the simulated hardware watchdog of a host: armed by the first byte, disarmed by "V"; when armed
# and nothing arrives for WATCHDOG_TIMEOUT seconds, it resets the host (which stays off, as a host
# that does not boot again would)
cmd_watchdog() {
  load "$1"; local h=$2 hd c armed=0 boot="" fires
  hd=$DIR/hosts/$h
  exec 3<> "$hd/watchdog"
  while :; do
    # a lying watchdog (watchdog-lie) fires later than the timeout it reports
    fires=$WATCHDOG_TIMEOUT
    [ -s "$hd/watchdog.fires-after" ] && fires=$(< "$hd/watchdog.fires-after")
    if IFS= read -r -N 1 -t "$fires" c <&3; then
      if [ "$c" = V ]; then
        [ $armed = 1 ] && echo "[$(date +%T.%3N)] $h: watchdog disarmed"
        armed=0
      else
        [ $armed = 0 ] && echo "[$(date +%T.%3N)] $h: watchdog armed (timeout ${WATCHDOG_TIMEOUT}s)"
        armed=1
        boot=$(cat "$hd/init.pid" 2>/dev/null || true)
      fi
    elif [ $armed = 1 ]; then
      armed=0
      # a power cycle since it was armed took the watchdog's power too: it starts disarmed
      if [ "$(cat "$hd/init.pid" 2>/dev/null || true)" != "$boot" ]; then
        echo "[$(date +%T.%3N)] $h: watchdog disarmed by a power cycle"
      elif powered "$h"; then
        echo "[$(date +%T.%3N)] $h: watchdog fired: no pet for ${fires}s, resetting the host"
        kill -TERM "$(cat "$hd/power.pid")" 2>/dev/null || true
      fi
    fi
  done
}

powered() { [ -s "$DIR/hosts/$1/init.pid" ] && kill -0 "$(cat "$DIR/hosts/$1/init.pid")" 2>/dev/null; }

cmd_power_on() {
  load "$1"; local h=$2 t
  host_ok "$h"
  powered "$h" && { echo "$h is already on"; return 0; }
  ipmi "$h" chassis power on >/dev/null || die "the BMC of $h refused power on"
  for t in $(seq 1 200); do powered "$h" && { echo "$h: on"; return 0; }; sleep 0.05; done
  die "$h did not power on"
}

cmd_power_off() {
  load "$1"; local h=$2 t u
  host_ok "$h"
  powered "$h" || { echo "$h is already off"; return 0; }
  u=$(cat "$DIR/hosts/$h/unshare.pid" 2>/dev/null || true)
  ipmi "$h" chassis power off >/dev/null || die "the BMC of $h refused power off"
  for t in $(seq 1 100); do
    { [ -z "$u" ] || ! kill -0 "$u" 2>/dev/null; } && ! powered "$h" && { echo "$h: off"; return 0; }
    sleep 0.05
  done
  die "$h did not power off within 5 s"
}

freeze_file() {
  [ -n "$CGROOT" ] || die "this machine has no cgroup v2 hierarchy: freeze needs cgroup.freeze"
  echo "$CGROOT/$PREFIX-$1"
}

cmd_watchdog_lie() {
  load "$1"; local h=$2 s=${3:-}
  host_ok "$h"
  if [ -z "$s" ]; then
    rm -f "$DIR/hosts/$h/watchdog.fires-after"; echo "$h: watchdog honest (${WATCHDOG_TIMEOUT}s)"; return 0
  fi
  [[ "$s" =~ ^[1-9][0-9]{0,4}$ ]] || die "watchdog-lie: seconds must be a whole number from 1 to 99999, not '$s'"
  echo "$s" > "$DIR/hosts/$h/watchdog.fires-after"
  echo "$h: watchdog fires after ${s}s and reports ${WATCHDOG_TIMEOUT}s"
}

cmd_freeze() {
  load "$1"; local h=$2 f t
  host_ok "$h"; f=$(freeze_file "$h")
  echo 1 > "$f/cgroup.freeze"
  for t in $(seq 1 200); do grep -q '^frozen 1' "$f/cgroup.events" && { echo "$h: frozen"; return 0; }; sleep 0.01; done
  die "$h did not freeze"
}

cmd_thaw() {
  load "$1"; local h=$2 f
  host_ok "$h"; f=$(freeze_file "$h")
  echo 0 > "$f/cgroup.freeze"
  echo "$h: thawed"
}

cmd_cut() {
  load "$1"; local h=$2
  host_ok "$h"
  ip netns exec "$PREFIX-sw" nft -f - <<NFT
table bridge cut_$h {
  chain forward {
    type filter hook forward priority 0; policy accept;
    iifname { "$h-m", "$h-t", "$h-p" } drop
    oifname { "$h-m", "$h-t", "$h-p" } drop
  }
}
NFT
  echo "$h: cut off"
}

cmd_restore() {
  load "$1"; local h=$2
  host_ok "$h"
  ip netns exec "$PREFIX-sw" nft delete table bridge "cut_$h" 2>/dev/null || true
  echo "$h: restored"
}

cmd_exec() {
  load "$1"; local h=$2; shift 2
  host_ok "$h"
  powered "$h" || die "$h is off"
  exec nsenter --target "$(cat "$DIR/hosts/$h/init.pid")" --pid --mount --net --uts -- "$@"
}

cmd_list() {
  load "$1"; local json=false h i=0
  [ "${2:-}" = "--format" ] && [ "${3:-}" = json ] && json=true
  local out=""
  for h in $HOSTS; do
    i=$((i + 1))
    local power=off init="" frozen=false cut=false
    if powered "$h"; then power=on; init=$(cat "$DIR/hosts/$h/init.pid"); fi
    [ -n "$CGROOT" ] && grep -q '^frozen 1' "$CGROOT/$PREFIX-$h/cgroup.events" 2>/dev/null && frozen=true
    ip netns exec "$PREFIX-sw" nft list table bridge "cut_$h" >/dev/null 2>&1 && cut=true
    local bmc="127.0.0.1:$(cat "$DIR/hosts/$h/bmc/port")"
    if $json; then
      out="$out${out:+,}{\"name\":\"$h\",\"managementIp\":\"$MGMT_NET.$((10 + i))\",\"tunnelIp\":\"$TUN_NET.$((10 + i))\","
      out="$out\"namespace\":\"$PREFIX-$h\",\"power\":\"$power\",\"initPid\":${init:-null},\"frozen\":$frozen,\"cut\":$cut,"
      out="$out\"bmc\":{\"endpoint\":\"$bmc\",\"user\":\"$BMC_USER\",\"password\":\"$BMC_PASSWORD\",\"interface\":\"lanplus\",\"cipherSuite\":3},"
      out="$out\"watchdog\":{\"device\":\"$DIR/hosts/$h/watchdog\",\"timeoutSeconds\":$WATCHDOG_TIMEOUT}}"
    else
      printf '%-8s %-6s mgmt=%-14s tunnel=%-14s init=%-8s frozen=%-5s cut=%-5s bmc=%s\n' "$h" "$power" "$MGMT_NET.$((10 + i))" \
        "$TUN_NET.$((10 + i))" "${init:--}" "$frozen" "$cut" "$bmc"
    fi
  done
  if $json; then
    echo "{\"prefix\":\"$PREFIX\",\"management\":\"$MGMT_NET.0/24\",\"controllerIp\":\"$MGMT_NET.1\",\"tunnel\":\"$TUN_NET.0/24\",\"provider\":\"$PROV_NET.0/24\",\"providerGateway\":\"$PROV_NET.1\",\"outsideNamespace\":\"$PREFIX-out\",\"hosts\":[$out]}"
  fi
}

cmd_destroy() {
  [ -f "$1/lab.env" ] || { echo "no lab in $1"; return 0; }
  load "$1"; local h pid
  for h in $HOSTS; do
    [ -n "$CGROOT" ] && [ -f "$CGROOT/$PREFIX-$h/cgroup.freeze" ] && echo 0 > "$CGROOT/$PREFIX-$h/cgroup.freeze"
    for f in bmc/pid watchdog.pid; do
      pid=$(cat "$DIR/hosts/$h/$f" 2>/dev/null || true)
      [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    done
    for f in power.pid unshare.pid init.pid; do
      pid=$(cat "$DIR/hosts/$h/$f" 2>/dev/null || true)
      [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    done
  done
  for h in $HOSTS; do
    for _ in $(seq 1 100); do
      [ -n "$CGROOT" ] && [ -s "$CGROOT/$PREFIX-$h/cgroup.procs" ] || break
      xargs -r kill -KILL < "$CGROOT/$PREFIX-$h/cgroup.procs" 2>/dev/null || true
      sleep 0.05
    done
    [ -z "$CGROOT" ] || rmdir "$CGROOT/$PREFIX-$h" 2>/dev/null || true
    ip netns del "$PREFIX-$h" 2>/dev/null || true
  done
  ip netns del "$PREFIX-out" 2>/dev/null || true
  ip netns del "$PREFIX-sw" 2>/dev/null || true
  ip link del "$ROOT_IF" 2>/dev/null || true
  rm -f "$DIR/lab.env"
  echo "lab $PREFIX destroyed"
}

[ $# -ge 1 ] || die "usage: lab.sh create|power-on|power-off|freeze|thaw|cut|restore|watchdog-lie|exec|list|destroy DIR ..."
cmd=$1; shift
case $cmd in
  create) [ $# -eq 2 ] || die "usage: lab.sh create DIR HOSTS"; cmd_create "$@" ;;
  power-start) cmd_power_start "$@" ;;
  watchdog) cmd_watchdog "$@" ;;
  init) cmd_init "$@" ;;
  power-on) [ $# -eq 2 ] || die "usage: lab.sh power-on DIR HOST"; cmd_power_on "$@" ;;
  power-off) [ $# -eq 2 ] || die "usage: lab.sh power-off DIR HOST"; cmd_power_off "$@" ;;
  freeze) [ $# -eq 2 ] || die "usage: lab.sh freeze DIR HOST"; cmd_freeze "$@" ;;
  watchdog-lie) [ $# -eq 2 ] || [ $# -eq 3 ] || die "usage: lab.sh watchdog-lie DIR HOST [SECONDS]"; cmd_watchdog_lie "$@" ;;
  thaw) [ $# -eq 2 ] || die "usage: lab.sh thaw DIR HOST"; cmd_thaw "$@" ;;
  cut) [ $# -eq 2 ] || die "usage: lab.sh cut DIR HOST"; cmd_cut "$@" ;;
  restore) [ $# -eq 2 ] || die "usage: lab.sh restore DIR HOST"; cmd_restore "$@" ;;
  exec) [ $# -ge 3 ] || die "usage: lab.sh exec DIR HOST CMD..."; cmd_exec "$@" ;;
  list) [ $# -ge 1 ] || die "usage: lab.sh list DIR [--format json]"; cmd_list "$@" ;;
  destroy) [ $# -eq 1 ] || die "usage: lab.sh destroy DIR"; cmd_destroy "$@" ;;
  *) die "unknown command $cmd" ;;
esac
