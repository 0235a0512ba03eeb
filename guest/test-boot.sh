#!/bin/bash
# Self-check for the guest image (run as root): builds it into a temp dir, boots qcow2 overlays
# under TCG and checks the console protocol, the config drive, DHCP with MTU, HTTP and the ACPI
# power button. Everything it starts is recorded by PID and removed on exit, even on failure.
#   usage: test-boot.sh          env: KEEP=1 keeps the work dir (console logs) for inspection
set -euo pipefail
export LC_ALL=C PATH="$PATH:/usr/sbin:/sbin"
HERE=$(cd "$(dirname "$0")" && pwd)

die() { echo "test-boot.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (needs network namespaces and taps)"
for t in qemu-system-x86_64:qemu-system-x86 qemu-img:qemu-utils socat:socat curl:curl ip:iproute2; do
  command -v "${t%%:*}" >/dev/null || die "missing tool '${t%%:*}' (install Debian package ${t#*:})"
done
command -v dnsmasq >/dev/null || die "missing tool 'dnsmasq' (install Debian package dnsmasq-base)"

# Short paths: a QMP socket path must stay under 108 bytes.
W=$(mktemp -d /tmp/hgt.XXXXXX)
NS=hgt-$$                    # network namespace with a bridge, taps and dnsmasq for (c) and (f)
PIDS=()
NS_MADE=
PASS=0 FAIL=0

# A zombie counts as gone: a daemonized QEMU's parent is the host's PID 1, which may reap late.
running() { [ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat"; }

cleanup() {
  local p left killed=()
  for p in "${PIDS[@]}"; do
    # Only our processes: PIDs can be reused, so check that the command line names our work dir.
    if running "$p" && tr '\0' ' ' < "/proc/$p/cmdline" | grep -qF "$W"; then
      kill "$p" 2>/dev/null && killed+=("$p")
    fi
  done
  # Let QEMU release its taps before the namespace goes.
  for _ in $(seq 20); do
    left=
    for p in "${killed[@]}"; do if running "$p"; then left=1; fi; done
    [ -n "$left" ] || break
    sleep 0.1
  done
  [ -z "$NS_MADE" ] || ip netns del "$NS" 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "work dir kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok()  { PASS=$((PASS + 1)); echo "PASS $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }
ms_since() { echo $(( (${EPOCHREALTIME/./} - $1) / 1000 )); }
secs() { printf '%d.%02d s' $(( $1 / 1000 )) $(( $1 % 1000 / 10 )); }

# ---- VMs ----
declare -A T_START QPID
# vm_start NAME [qemu args...]; runs inside $VM_NETNS when that is set
vm_start() {
  local n=$1; shift
  qemu-img create -q -f qcow2 -b "$W/guest.qcow2" -F qcow2 "$W/$n.qcow2"
  T_START[$n]=${EPOCHREALTIME/./}
  ${VM_NETNS:+ip netns exec "$VM_NETNS"} qemu-system-x86_64 -name "hgt-$n" -machine pc \
    -accel tcg -m 128 -smp 1 -display none -nodefaults -no-user-config \
    -drive "file=$W/$n.qcow2,if=virtio,format=qcow2,cache=unsafe" \
    -serial "file:$W/$n.serial" -qmp "unix:$W/$n.qmp,server=on,wait=off" \
    -daemonize -pidfile "$W/$n.pid" "$@"
  QPID[$n]=$(cat "$W/$n.pid")
  PIDS+=("${QPID[$n]}")
}
vm_stop() { kill "${QPID[$1]}" 2>/dev/null || true; }
alive() { running "${QPID[$1]}"; }
console() { tr -d '\r' < "$W/$1.serial" 2>/dev/null; }
# wait_line NAME REGEX TIMEOUT_S [COUNT]: wait until COUNT console lines match; sets WAITED_MS
wait_line() {
  local n=$1 re=$2 end=$(( ${EPOCHREALTIME/./} + $3 * 1000000 )) count=${4:-1}
  while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
    if [ "$(console "$n" | grep -cE "$re")" -ge "$count" ]; then
      WAITED_MS=$(ms_since "${T_START[$n]}"); return 0
    fi
    sleep 0.05
  done
  return 1
}
ready_line() { console "$1" | grep -E '^halcyon-guest: ready' | sed -n "${2:-1}p"; }
# boot_times NAME [LABEL]: user-data echoed /run/halcyon/boot-times (uptime in centiseconds)
boot_times() {
  local t_init t_ready
  read -r t_init t_ready < <(console "$1" |
    sed -n 's/^user-data: boot-times: init=\([0-9]*\) ready=\([0-9]*\)$/\1 \2/p' | tail -n 1) || true
  [ -z "${t_init:-}" ] || echo "info (${2:-$1}) guest uptime at init start $(secs $((t_init * 10)))," \
    "init start -> ready line $(secs $(( (t_ready - t_init) * 10 )))"
}
show_console() { echo "---- console of $1 ----"; console "$1" | tail -n 40; echo "----"; }

# ---- QMP client: socat as a bash coprocess; replies and events interleave on one stream ----
qmp_open() {
  coproc QMP { exec socat - "UNIX-CONNECT:$W/$1.qmp"; }
  # bash unsets QMP_PID when socat ends (e.g. QEMU exited), so keep a copy
  QMP_IN=${QMP[0]} QMP_OUT=${QMP[1]} QMP_EVENTS= QMP_SOCAT=$QMP_PID
  PIDS+=("$QMP_SOCAT")
  local greeting
  read -r -t 5 greeting <&"$QMP_IN" && qmp qmp_capabilities
}
qmp() {   # qmp COMMAND: sends it, returns once its reply arrived; events seen meanwhile are kept
  local line
  echo "{\"execute\": \"$1\"}" >&"$QMP_OUT"
  while read -r -t 10 line <&"$QMP_IN"; do
    case $line in
      *'"return"'*) QMP_REPLY=$line; return 0 ;;
      *'"error"'*)  QMP_REPLY=$line; return 1 ;;
      *'"event"'*)  QMP_EVENTS+="$line"$'\n' ;;
    esac
  done
  return 1
}
qmp_event() {   # qmp_event NAME TIMEOUT_S: 0 once the event has arrived
  local line end=$(( ${EPOCHREALTIME/./} + $2 * 1000000 ))
  while ! grep -qE "\"event\": *\"$1\"" <<< "$QMP_EVENTS"; do
    local left=$(( (end - ${EPOCHREALTIME/./}) / 1000 ))
    [ "$left" -gt 0 ] || return 1
    read -r -t "$(secs "$left" | cut -d' ' -f1)" line <&"$QMP_IN" || return 1
    QMP_EVENTS+="$line"$'\n'
  done
}
qmp_close() { exec {QMP_OUT}>&- {QMP_IN}<&-; wait "$QMP_SOCAT" 2>/dev/null || true; }

# ---- build ----
BUILD_LINE=$("$HERE/build.sh" "$W/guest.qcow2") || die "build failed"
echo "build: $BUILD_LINE"

# ---- (a) no NIC: plain ready line; then (e) power button without -no-shutdown ends QEMU ----
vm_start a
if wait_line a '^halcyon-guest: ready' 30 && [ "$(ready_line a)" = "halcyon-guest: ready" ]; then
  ok "(a) no NIC: '$(ready_line a)' after $(secs "$WAITED_MS") from QEMU start"
else
  bad "(a) no NIC: no bare ready line"; show_console a
fi
if qmp_open a && qmp system_powerdown; then
  t=${EPOCHREALTIME/./}
  qmp_event SHUTDOWN 5 && echo "info (e) SHUTDOWN event after $(secs "$(ms_since "$t")")"
  while alive a && [ "$(ms_since "$t")" -lt 5000 ]; do sleep 0.05; done
  if ! alive a; then ok "(e) system_powerdown without -no-shutdown: QEMU exited after $(secs "$(ms_since "$t")")"
  else bad "(e) system_powerdown without -no-shutdown: QEMU still running after 5 s"; show_console a; fi
  qmp_close
else
  bad "(e) QMP to VM a failed"
fi
vm_stop a

# ---- (b) config drive: user_data output on the console, exit code, hostname, no zombies ----
cat > "$W/b.user_data" <<'EOF'
#!/bin/sh
echo hello-from-user-data
echo "hostname=$(hostname)"
echo "boot-times: $(cat /run/halcyon/boot-times)"
# An orphan that exits must be reaped by PID 1.
(sleep 0.2 &)
sleep 1
echo "zombies=$(grep -l '^State:.*Z' /proc/[0-9]*/status 2>/dev/null | wc -l)"
EOF
echo '{"uuid": "00000000-0000-0000-0000-00000000000b", "hostname": "hgt-vm-b"}' > "$W/b.meta.json"
"$HERE/make-config-drive.sh" "$W/b.cfg.img" "$W/b.user_data" "$W/b.meta.json"
vm_start b -drive "file=$W/b.cfg.img,if=virtio,format=raw,readonly=on"
if wait_line b '^halcyon-guest: user-data exit=' 40; then
  log=$(console b)
  grep -qx 'user-data: hello-from-user-data' <<< "$log" && grep -qx 'halcyon-guest: user-data exit=0' <<< "$log" &&
    ok "(b) config drive: user-data output and exit=0 after $(secs "$WAITED_MS")" ||
    { bad "(b) config drive: missing hello-from-user-data or exit=0"; show_console b; }
  [ "$(grep -c '^halcyon-guest: ready' <<< "$log")" = 1 ] && ok "(b) exactly one ready line" ||
    { bad "(b) ready line count is not 1"; show_console b; }
  grep -qx 'user-data: hostname=hgt-vm-b' <<< "$log" && ok "(b) hostname from meta_data.json" ||
    { bad "(b) hostname from meta_data.json not applied"; show_console b; }
  grep -qx 'user-data: zombies=0' <<< "$log" && ok "(b) PID 1 reaps orphans" ||
    { bad "(b) zombies found"; show_console b; }
  boot_times b
else
  bad "(b) config drive: no user-data exit line"; show_console b
fi
vm_stop b

# ---- network namespace: bridge 10.66.0.1/24 with dnsmasq (DHCP, MTU 1442), taps for the VMs ----
ip netns add "$NS"; NS_MADE=1
ip -n "$NS" link set lo up
ip -n "$NS" link add hgt-br0 type bridge
ip -n "$NS" addr add 10.66.0.1/24 dev hgt-br0
ip -n "$NS" link set hgt-br0 up
for tap in hgt-tap0 hgt-tap1 hgt-tap2; do ip -n "$NS" tuntap add "$tap" mode tap; ip -n "$NS" link set "$tap" up; done
ip -n "$NS" link set hgt-tap0 master hgt-br0
ip -n "$NS" link set hgt-tap1 master hgt-br0       # hgt-tap2 stays unbridged: a NIC without DHCP
# --no-ping: otherwise dnsmasq probes a dynamic address for ~3 s before offering it.
ip netns exec "$NS" dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --port=0 \
  --interface=hgt-br0 --bind-interfaces --dhcp-authoritative --no-ping \
  --dhcp-range=10.66.0.100,10.66.0.150,255.255.255.0,1h \
  --dhcp-option=option:mtu,1442 --dhcp-option=option:dns-server,10.66.0.1 \
  --dhcp-host=52:54:00:66:00:0c,10.66.0.12 --dhcp-host=52:54:00:66:00:0f,10.66.0.15 \
  --dhcp-leasefile="$W/dnsmasq.leases" --log-facility="$W/dnsmasq.log" --log-dhcp &
PIDS+=("$!")

# ---- (c) one NIC with DHCP: address on the ready line, MTU 1442, default route, DNS, HTTP ----
# ---- (d) same VM (-no-shutdown): power button -> SHUTDOWN event, reset + cont -> ready again ----
cat > "$W/c.user_data" <<'EOF'
#!/bin/sh
echo "mtu=$(cat /sys/class/net/eth0/mtu)"
echo "route=$(ip route | grep ^default)"
echo "dns=$(grep nameserver /etc/resolv.conf)"
echo "boot-times: $(cat /run/halcyon/boot-times)"
EOF
echo '{"hostname": "hgt-vm-c"}' > "$W/c.meta.json"
"$HERE/make-config-drive.sh" "$W/c.cfg.img" "$W/c.user_data" "$W/c.meta.json"
VM_NETNS=$NS vm_start c -no-shutdown \
  -netdev tap,id=n0,ifname=hgt-tap0,script=no,downscript=no -device virtio-net-pci,netdev=n0,mac=52:54:00:66:00:0c \
  -drive "file=$W/c.cfg.img,if=virtio,format=raw,readonly=on"
if wait_line c '^halcyon-guest: ready' 30; then
  [ "$(ready_line c)" = "halcyon-guest: ready 10.66.0.12" ] &&
    ok "(c) DHCP: '$(ready_line c)' after $(secs "$WAITED_MS") from QEMU start" ||
    { bad "(c) DHCP: unexpected ready line '$(ready_line c)'"; show_console c; }
  if wait_line c '^halcyon-guest: user-data exit=' 20; then
    log=$(console c)
    grep -qx 'user-data: mtu=1442' <<< "$log" && ok "(c) eth0 MTU 1442 from DHCP option 26" ||
      { bad "(c) eth0 MTU is not 1442"; show_console c; }
    grep -q '^user-data: route=default via 10.66.0.1 dev eth0' <<< "$log" &&
      grep -qx 'user-data: dns=nameserver 10.66.0.1' <<< "$log" && ok "(c) default route and resolv.conf from DHCP" ||
      { bad "(c) default route or DNS missing"; show_console c; }
    boot_times c
  else
    bad "(c) no user-data exit line"; show_console c
  fi
  page=$(ip netns exec "$NS" curl -s --max-time 5 http://10.66.0.12/ || true)
  grep -q 'hgt-vm-c' <<< "$page" && grep -q '10.66.0.12' <<< "$page" &&
    ok "(c) curl http://10.66.0.12/ from the namespace serves the index page" ||
    bad "(c) curl http://10.66.0.12/ failed: '$page'"
else
  bad "(c) DHCP: no ready line"; show_console c
fi

if qmp_open c && qmp system_powerdown; then
  t=${EPOCHREALTIME/./}
  if qmp_event SHUTDOWN 5; then
    ok "(d) system_powerdown: SHUTDOWN event after $(secs "$(ms_since "$t")")"
    sleep 0.5
    alive c && qmp query-status && grep -q '"status": "shutdown"' <<< "$QMP_REPLY" &&
      ok "(d) QEMU stays alive with -no-shutdown (status shutdown)" ||
      bad "(d) QEMU not alive/paused after SHUTDOWN: ${QMP_REPLY:-}"
    t=${EPOCHREALTIME/./}; T_START[c]=$t
    if qmp system_reset && qmp cont && wait_line c '^halcyon-guest: ready' 30 2; then
      [ "$(ready_line c 2)" = "halcyon-guest: ready 10.66.0.12" ] &&
        ok "(d) system_reset + cont: second '$(ready_line c 2)' after $(secs "$WAITED_MS")" ||
        bad "(d) second ready line is '$(ready_line c 2)'"
      ! wait_line c '^halcyon-guest: user-data exit=' 20 2 || boot_times c d
    else
      bad "(d) no second ready line after system_reset + cont (${QMP_REPLY:-})"; show_console c
    fi
  else
    bad "(d) no SHUTDOWN event within 5 s"; show_console c
  fi
  qmp_close
else
  bad "(d) QMP to VM c failed"
fi
vm_stop c

# ---- (f) two NICs, only the first has DHCP: both handled, ready line bounded in time ----
cat > "$W/f.user_data" <<'EOF'
#!/bin/sh
echo "eth1: $(cat /sys/class/net/eth1/operstate) addr=$(ip -4 addr show dev eth1 | grep -c inet)"
echo "boot-times: $(cat /run/halcyon/boot-times)"
EOF
"$HERE/make-config-drive.sh" "$W/f.cfg.img" "$W/f.user_data"
VM_NETNS=$NS vm_start f -drive "file=$W/f.cfg.img,if=virtio,format=raw,readonly=on" \
  -netdev tap,id=n0,ifname=hgt-tap1,script=no,downscript=no -device virtio-net-pci,netdev=n0,mac=52:54:00:66:00:0f \
  -netdev tap,id=n1,ifname=hgt-tap2,script=no,downscript=no -device virtio-net-pci,netdev=n1,mac=52:54:00:66:00:1f
if wait_line f '^halcyon-guest: ready' 30; then
  [ "$(ready_line f)" = "halcyon-guest: ready 10.66.0.15" ] &&
    ok "(f) two NICs, eth1 without DHCP: '$(ready_line f)' after $(secs "$WAITED_MS")" ||
    { bad "(f) unexpected ready line '$(ready_line f)'"; show_console f; }
  page=$(ip netns exec "$NS" curl -s --max-time 5 http://10.66.0.15/ || true)
  grep -q 'halcyon-guest' <<< "$page" && ok "(f) curl http://10.66.0.15/ works" || bad "(f) curl failed: '$page'"
  if wait_line f '^halcyon-guest: user-data exit=' 20; then
    console f | grep -qx 'user-data: eth1: up addr=0' && ok "(f) eth1 is up without an address" ||
      { bad "(f) eth1 state unexpected"; show_console f; }
    boot_times f
  else
    bad "(f) no user-data exit line"; show_console f
  fi
else
  bad "(f) no ready line"; show_console f
fi
vm_stop f

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
