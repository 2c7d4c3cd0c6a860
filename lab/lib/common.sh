# shellcheck shell=bash
# Shared constants and helpers of the dnsfence lab: addresses, paths, process bookkeeping, polling.
# Sourced by lab/lab; every other lib/*.sh relies on these names.

LAB_STATE=${DFL_STATE:-/run/dnsfence-lab}          # configs, PIDs, keys: gone after `down`
LAB_EVIDENCE=${DFL_EVIDENCE:-$LAB_DIR/evidence}    # resolver logs, captures, results: kept
LAB_PREFIX=dfl-

# Namespaces, in creation order. Only these are ever created or deleted.
NS_CLIENT=dfl-client NS_SHOP=dfl-shop NS_ROGUE=dfl-rogue NS_INET=dfl-inet NS_VPN=dfl-vpn
NS_PROVIDER=dfl-provider NS_ISP=dfl-isp NS_PUBLIC=dfl-public NS_AUTH=dfl-auth
LAB_NAMESPACES=("$NS_CLIENT" "$NS_SHOP" "$NS_ROGUE" "$NS_INET" "$NS_VPN" "$NS_PROVIDER" "$NS_ISP"
  "$NS_PUBLIC" "$NS_AUTH")

# Addresses (private and documentation ranges only; see lab/README.md for the diagram).
LAN_NET=10.10.0.0/24 LAN_GW=10.10.0.1 ROGUE_LAN=10.10.0.66
CLIENT_MAC=02:df:10:00:00:10
SHOP_WAN=203.0.113.2 SHOP_WAN_NET=203.0.113.0/24 INET_SHOP=203.0.113.1
SHOP_RESOLVER=203.0.113.53 HOTEL_GUEST_RESOLVER=203.0.113.101
VPN_WAN=192.0.2.2 INET_VPN=192.0.2.1 VPN_WAN_NET=192.0.2.0/28
AUTH_ADDR=192.0.2.53 INET_AUTH=192.0.2.49 AUTH_NET=192.0.2.48/28 PROBE_ANSWER=192.0.2.80
# Two more witness instances in dfl-auth, for the sub-zones scenarios 13 and 2 probe under.
AUTH_ADDR_BANK=192.0.2.54 AUTH_ADDR_NEWS=192.0.2.55 WITNESS_API_PORT=8053
PUBLIC_RESOLVER=198.51.100.53 ATTACKER_RESOLVER=198.51.100.66 INET_PUBLIC=198.51.100.1
PUBLIC_NET=198.51.100.0/25
ISP_RESOLVER=100.64.53.53 INET_ISP=100.64.53.1 ISP_NET=100.64.53.0/24 ISP_SPLIT_PREFIX=100.64.0.0/10
PROVIDER_RESOLVER=10.64.0.53 VPN_PROV=10.64.0.1 PROV_NET=10.64.0.0/24
TUN_NET=10.8.0.0/24 TUN_SERVER=10.8.0.1 TUN_CLIENT=10.8.0.2
# IPv6 (scenario 7): the shop's resolver and the VPN's public side are dual-stack; so is the tunnel.
SHOP_WAN6=2001:db8:113::2 INET_SHOP6=2001:db8:113::1 SHOP_RESOLVER6=2001:db8:113::53
VPN_WAN6=2001:db8:2::2 INET_VPN6=2001:db8:2::1
TUN_SERVER6=fd00:8::1 TUN_CLIENT6=fd00:8::2 TUN_NET6=fd00:8::/64 PUBLIC_RESOLVER6=2001:db8:53::53
INET_PUBLIC6=2001:db8:53::1 ISP_RESOLVER6=2001:db8:64::53 INET_ISP6=2001:db8:64::1 SHOP_WAN_NET6=2001:db8:113::/64
# Resolvers of the scenario matrix (matrix.sh), both families: the shop's dnsmasq that forwards to
# the ISP (a customer: it is answered), an ISP resolver that refuses outsiders (REFUSED, logged),
# and a dnsmasq that forges every name of the probe zone.
SHOPFWD_RESOLVER=203.0.113.54 SHOPFWD_RESOLVER6=2001:db8:113::54
REFUSER_RESOLVER=100.64.53.54 REFUSER_RESOLVER6=2001:db8:64::54
FORGER_RESOLVER=198.51.100.77 FORGER_RESOLVER6=2001:db8:53::77
WG_CLIENT_IF=dflwg0 WG_SERVER_IF=dflwg1 WG_PORT=51820 WG_FWMARK=51820
SERVE_LISTEN=$TUN_SERVER:53      # where `dnsfence serve` listens on the VPN server (and [fd00:8::1]:53)
# The dnsfence binary under test: ctest passes DNSFENCE=$<TARGET_FILE:dnsfence>.
DNSFENCE=${DNSFENCE:-$(cd "$LAB_DIR/.." && pwd)/build/apps/dnsfence/dnsfence}
PROBE_ZONE=leak.test
FORGED_ANSWER=203.0.113.66       # what the poisoning shop resolver answers

log() { printf '[lab %s] %s\n' "$(date +%H:%M:%S.%3N)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
now_ms() { date +%s%3N; }

# wait_until SECONDS CMD...: polls CMD every 50 ms until it succeeds; fails after the deadline.
wait_until() {
  local deadline=$(($(now_ms) + ${1%.*} * 1000)); shift
  until "$@" >/dev/null 2>&1; do
    (($(now_ms) > deadline)) && return 1
    sleep 0.05
  done
}

# start_bg NAME NS CMD...: runs CMD in namespace NS in the background, records its PID (and
# executable) under $LAB_STATE/pids/NAME, output to $LAB_STATE/out/NAME.out (or appended to
# $BG_LOG when set: a log that outlives restarts, e.g. the proxy's query log in the evidence).
# `ip netns exec` execs CMD, so $! is CMD's own PID.
start_bg() {
  local name=$1 ns=$2; shift 2
  mkdir -p "$LAB_STATE/pids" "$LAB_STATE/out"
  if [ -n "${BG_LOG:-}" ]; then
    ip netns exec "$ns" "$@" </dev/null >>"$BG_LOG" 2>&1 &
  else
    ip netns exec "$ns" "$@" </dev/null >"$LAB_STATE/out/$name.out" 2>&1 &
  fi
  local pid=$!
  printf '%s %s\n' "$pid" "$1" >"$LAB_STATE/pids/$name"
  mkdir -p "$LAB_STATE/cmds"
  printf '%s' "$*" >"$LAB_STATE/cmds/$name"
}

# pid_alive PID: a live process (kill -0 also succeeds on zombies: pitfall 10).
pid_alive() {
  local state
  state=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# recorded_pid NAME: prints the recorded PID if that process still runs the recorded program.
recorded_pid() {
  local f=$LAB_STATE/pids/$1 pid prog exe want
  [ -f "$f" ] || return 1
  read -r pid prog <"$f"
  pid_alive "$pid" || return 1
  # Guard against PID reuse: the process must still be the program we started (or `ip`, for the
  # instant before `ip netns exec` execs it).
  exe=$(basename "$(readlink "/proc/$pid/exe" 2>/dev/null)")
  exe=${exe% (deleted)}   # the binary was rebuilt under it: still ours, still to be stopped
  want=$(basename "$(readlink -f "$(command -v "$prog")")")
  [ "$exe" = "$want" ] || [ "$exe" = ip ] || return 1
  # ... with the very command line we gave it (after `ip netns exec NS`, or once exec'd).
  local cmd have
  cmd=$(cat "$LAB_STATE/cmds/$1" 2>/dev/null) || return 1
  have=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
  case "${have% }" in "$cmd" | "ip netns exec "*" $cmd") ;; *) return 1 ;; esac
  echo "$pid"
}

# stop_bg NAME: stops the recorded process (TERM, then KILL after 2 s) and forgets it.
stop_bg() {
  local pid i
  if pid=$(recorded_pid "$1"); then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 40); do pid_alive "$pid" || break; sleep 0.05; done
    if pid_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$LAB_STATE/pids/$1" "$LAB_STATE/cmds/$1"
}

# stop_all_bg: stops every recorded process.
stop_all_bg() {
  local f
  for f in "$LAB_STATE"/pids/*; do
    [ -e "$f" ] && stop_bg "${f##*/}"
  done
  return 0
}

need_dnsfence() {
  [ -x "$DNSFENCE" ] || { log "no dnsfence binary at $DNSFENCE (build it, or set DNSFENCE)"; exit 77; }
}

need_root() {
  [ "$(id -u)" -eq 0 ] || { log "needs root (network namespaces)"; exit 77; }
  local t
  for t in ip nft wireguard-go wg dnsmasq unbound busybox kdig tcpdump conntrack jq curl; do
    command -v "$t" >/dev/null || { log "missing $t (run scripts/setup)"; exit 77; }
  done
  [ -c /dev/net/tun ] || { log "no /dev/net/tun"; exit 77; }
}
