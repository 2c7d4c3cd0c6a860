# shellcheck shell=bash
# Shared topology for the firewall end-to-end scenarios (sourced by run.sh).
#
#   dfw-cli  tun0 10.8.0.2 fd00:8::2  ---  vpn0 10.8.0.1 fd00:8::1   dfw-srv (VPN server: the rules,
#            lan0 10.77.0.2 ----------+                                the "proxy" unbound on
#                                     |    leak0 192.0.2.1 2001:db8:2::1    10.8.0.1 / fd00:8::1 :53,
#   dfw-leak 192.0.2.53 2001:db8:2::53, 10.77.0.1 (lan)  ----------+    or transparent on :5300)
#   dfw-allow 198.51.100.53 2001:db8:53::53  ---  allow0 198.51.100.1 2001:db8:53::1
#
# Each resolver answers every name under test. with its own address: proxy 10.99.0.1, leak
# 10.99.0.2, allow 10.99.0.3, and logs every query it receives.
set -euo pipefail

NS=(dfw-cli dfw-srv dfw-leak dfw-allow)
PIDS=()
WORK=$(mktemp -d /tmp/dfw-e2e.XXXXXX)

teardown() {
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  for ns in "${NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$WORK"
}

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

link() {  # link NS1 IF1 NS2 IF2
  ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
  in_ns "$1" ip link set "$2" up
  in_ns "$3" ip link set "$4" up
}

addr() { in_ns "$1" ip addr add "$3" dev "$2" ${4:+nodad}; }

setup_topology() {
  for ns in "${NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  for ns in "${NS[@]}"; do
    ip netns add "$ns"
    in_ns "$ns" ip link set lo up
    # No DAD: a tentative link-local address delays neighbour discovery, and so the first packets.
    in_ns "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
      net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  done
  link dfw-cli tun0 dfw-srv vpn0
  link dfw-srv leak0 dfw-leak eth0
  link dfw-srv allow0 dfw-allow eth0
  link dfw-cli lan0 dfw-leak lan0
  addr dfw-cli tun0 10.8.0.2/24; addr dfw-cli tun0 fd00:8::2/64 6
  addr dfw-cli lan0 10.77.0.2/24
  addr dfw-srv vpn0 10.8.0.1/24; addr dfw-srv vpn0 fd00:8::1/64 6
  addr dfw-srv leak0 192.0.2.1/24; addr dfw-srv leak0 2001:db8:2::1/64 6
  addr dfw-srv allow0 198.51.100.1/24; addr dfw-srv allow0 2001:db8:53::1/64 6
  addr dfw-leak eth0 192.0.2.53/24; addr dfw-leak eth0 2001:db8:2::53/64 6
  addr dfw-leak lan0 10.77.0.1/24
  addr dfw-allow eth0 198.51.100.53/24; addr dfw-allow eth0 2001:db8:53::53/64 6
  in_ns dfw-cli ip route add default via 10.8.0.1
  in_ns dfw-cli ip -6 route add default via fd00:8::1
  in_ns dfw-leak ip route add default via 192.0.2.1
  in_ns dfw-leak ip -6 route add default via 2001:db8:2::1
  in_ns dfw-allow ip route add default via 198.51.100.1
  in_ns dfw-allow ip -6 route add default via 2001:db8:53::1
  in_ns dfw-srv sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
}

# start_unbound NAME NS ANSWER EXTRA_CONFIG...: a resolver logging every query; waits until it answers.
start_unbound() {
  local name=$1 ns=$2 answer=$3; shift 3
  local dir=$WORK/$name
  mkdir -p "$dir"
  {
    echo "server:"
    printf '  %s\n' "$@"
    cat <<CONF
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$dir"
  pidfile: ""
  use-syslog: no
  logfile: "$dir/log"
  log-queries: yes
  verbosity: 1
  access-control: 0.0.0.0/0 allow
  access-control: ::/0 allow
  module-config: "iterator"
  local-zone: "test." redirect
  local-data: "test. 60 IN A $answer"
remote-control:
  control-enable: no
CONF
  } >"$dir/unbound.conf"
  ip netns exec "$ns" unbound -d -c "$dir/unbound.conf" >"$dir/stderr" 2>&1 &
  PIDS+=($!)
  eval "PID_$name=$!"
  wait_for "$name starts" grep -q "start of service" "$dir/log"
}

stop_pid() {  # stop_pid PID: stop one recorded process and wait until it is gone
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

wait_for() {  # wait_for WHAT CMD...: polls CMD for up to 5 s
  local what=$1; shift
  local deadline=$((SECONDS + 5))
  until "$@" 2>/dev/null; do
    if ((SECONDS >= deadline)); then fail "timed out waiting: $what"; fi
    sleep 0.05
  done
}

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# query NS SERVER NAME [kdig options...]: prints the A answer (empty when none); never fails.
query() {
  local ns=$1 server=$2 name=$3; shift 3
  in_ns "$ns" kdig @"$server" "$name" A +short +timeout=1 +retry=0 "$@" 2>/dev/null | head -1 || true
}

logged() { grep -q "$2" "$WORK/$1/log" 2>/dev/null; }  # logged RESOLVER NAME

expect_answer() {  # expect_answer WHAT EXPECTED SERVER NAME [kdig options]
  local what=$1 want=$2 server=$3 name=$4; shift 4
  local got
  got=$(query dfw-cli "$server" "$name" "$@")
  [ "$got" = "$want" ] || fail "$what: answer '$got', expected '$want'"
}

counter() {  # counter CHAIN NAME: packets counted by a dnsfence rule, from `firewall status --json`
  # jq, not a Python interpreter: on a busy 2-core machine each python3 start costs ~1.5 s.
  in_ns dfw-srv "$DNSFENCE" firewall status --config "$CONF" --json |
    jq --arg c "$1" --arg n "$2" '[.rules[] | select(.chain == $c and .name == $n) | .packets] | add // 0'
}
