#!/usr/bin/env bash
# End-to-end with a witness: TAMPERED, INTERCEPTED and OK, in network namespaces (private and
# documentation addresses only, connected to nothing else):
#
#   dfd-lwc (client) tun0 10.98.2.2 ==veth "tunnel"== 10.98.2.1 dfd-lwv (VPN server)
#   dfd-lwv: the provider's resolver 10.98.2.1 (asks the authority), and DNAT of queries to the
#            third-party resolver 192.0.2.1 onto it (the paper's transparent proxy)
#   dfd-lwv 10.98.3.1 --veth-- 10.98.3.2 dfd-lwa: the authority for the probe zone (logs who asks),
#            the witness API on 10.98.3.2:8053, and a coffee-shop resolver 100.64.0.53 that forges
#            answers (203.0.113.66) without asking anyone.
#
# Run 1, resolv.conf = 100.64.0.53: 100.64.0.53 LEAK-TYPE2 + TAMPERED, 192.0.2.1 INTERCEPTED, exit 1.
# Run 2, resolv.conf = 10.98.2.1: 10.98.2.1 OK, 192.0.2.1 INTERCEPTED, overall INTERCEPTED, exit 0.
# Usage: leaktest_witness.sh DNSFENCE_BINARY      (root; exit 77 = skipped)
set -euo pipefail
bin=${1:?dnsfence binary}
here=$(cd "$(dirname "$0")" && pwd)
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root"; exit 77; }
command -v unbound >/dev/null && command -v nft >/dev/null || { echo "SKIP: no unbound or nft"; exit 77; }

C=dfd-lwc V=dfd-lwv A=dfd-lwa
work=$(mktemp -d /tmp/dfd-lw.XXXXXX)
pids=()
teardown() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for ns in $C $V $A; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "/etc/netns/$C" "$work"
}
trap teardown EXIT
for ns in $C $V $A; do ip netns del "$ns" 2>/dev/null || true; done
source "$here/lib.sh"

for ns in $C $V $A; do ip netns add $ns; nx $ns ip link set lo up; done
ip link add tun0 netns $C type veth peer name tunpeer netns $V
ip link add up0 netns $V type veth peer name down0 netns $A
nx $C ip addr add 10.98.2.2/24 dev tun0
nx $V ip addr add 10.98.2.1/24 dev tunpeer
nx $V ip addr add 10.98.3.1/24 dev up0
nx $A ip addr add 10.98.3.2/24 dev down0
nx $A ip addr add 100.64.0.53/32 dev lo
for l in "$C tun0" "$V tunpeer" "$V up0" "$A down0"; do set -- $l; nx "$1" ip link set "$2" up; done
nx $C ip route add default via 10.98.2.1 dev tun0
nx $V sysctl -qw net.ipv4.ip_forward=1
nx $V ip route add 100.64.0.53/32 via 10.98.3.2
nx $A ip route add 10.98.2.0/24 via 10.98.3.1
nx $V nft -f - <<'NFT'
table ip dfdlw {
  chain pre {
    type nat hook prerouting priority -100;
    iifname "tunpeer" ip daddr 192.0.2.1 udp dport 53 dnat to 10.98.2.1
    iifname "tunpeer" ip daddr 192.0.2.1 tcp dport 53 dnat to 10.98.2.1
  }
}
NFT

start_unbound $A auth 10.98.3.2 answer 192.0.2.99
start_unbound $A cafe 100.64.0.53 answer 203.0.113.66
start_unbound $V vpn 10.98.2.1 stub 10.98.3.2
# Not through the nx function: $! must be the witness itself (ip netns exec execs it), not a subshell.
ip netns exec $A python3 "$here/fake_witness.py" "$work/auth.conf.log" $ZONE 192.0.2.99 10.98.3.2 8053 \
  >"$work/witness.out" 2>&1 &
pids+=($!)
wait_for 10 nx $C kdig +time=1 +retry=0 @10.98.2.1 ready.$ZONE A
wait_for 10 nx $C kdig +time=1 +retry=0 @100.64.0.53 ready.$ZONE A
wait_for 10 nx $C python3 -c 'import urllib.request; urllib.request.urlopen("http://10.98.3.2:8053/runs/x", timeout=1)'

fail() { echo "FAIL: $*"; cat "$work"/*.stderr; exit 1; }
leaktest() {  # leaktest RUN: runs leaktest in the client, leaves $work/RUN.json, sets rc
  set +e
  nx $C "$bin" leaktest --tunnel tun0 --public 192.0.2.1 --witness http://10.98.3.2:8053 --timeout 1000 --json \
    >"$work/$1.json" 2>"$work/$1.stderr"
  rc=$?
  set -e
  cat "$work/$1.json"
}
mkdir -p "/etc/netns/$C"

printf 'nameserver 100.64.0.53\noptions timeout:1 attempts:1\n' >"/etc/netns/$C/resolv.conf"
leaktest tampered
[[ $rc == 1 ]] || fail "run 1: exit code $rc, want 1"
[[ $(verdicts "$work/tampered.json" 100.64.0.53) == "LEAK-TYPE2 TAMPERED" ]] ||
  fail "100.64.0.53: $(verdicts "$work/tampered.json" 100.64.0.53)"
[[ $(verdicts "$work/tampered.json" 192.0.2.1) == "INTERCEPTED" ]] ||
  fail "192.0.2.1: $(verdicts "$work/tampered.json" 192.0.2.1)"

printf 'nameserver 10.98.2.1\noptions timeout:1 attempts:1\n' >"/etc/netns/$C/resolv.conf"
leaktest intercepted
[[ $rc == 0 ]] || fail "run 2: exit code $rc, want 0"
[[ $(verdicts "$work/intercepted.json" 10.98.2.1) == "OK" ]] || fail "10.98.2.1: $(verdicts "$work/intercepted.json" 10.98.2.1)"
[[ $(verdicts "$work/intercepted.json" 192.0.2.1) == "INTERCEPTED" ]] ||
  fail "192.0.2.1: $(verdicts "$work/intercepted.json" 192.0.2.1)"
echo "PASS: leaktest saw forged answers (TAMPERED) and the VPN's interception (INTERCEPTED) with a witness"
