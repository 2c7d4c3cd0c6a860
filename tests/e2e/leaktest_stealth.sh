#!/usr/bin/env bash
# End-to-end: `dnsfence leaktest` in network namespaces sees the paper's Stealth DNS server and a
# Type 1 leak. Topology (private and documentation addresses only, connected to nothing else):
#
#   dfd-ltc (client)  tun0 10.99.2.2 ==veth "tunnel"== 10.99.2.1 dfd-ltv (VPN server, resolver 10.99.2.1)
#                     lan0 10.99.1.2 --veth LAN--      10.99.1.1 dfd-ltr (LAN resolver, answers)
#   dfd-ltv 10.99.3.1 --veth-- 10.99.3.2 dfd-ltr, which also holds 198.51.100.53: an ISP resolver
#   that logs every query and never answers (unbound view with local-zone "." deny).
#
# The client's resolv.conf lists 198.51.100.53 first (as DHCP would), then the VPN's 10.99.2.1,
# then the LAN's 10.99.1.1, then the LAN router's link-local fe80::1%lan0 (as a router
# advertisement's RDNSS gives it). Expected: 198.51.100.53 LEAK-TYPE2 + STEALTH, 10.99.1.1 and
# fe80::1 LEAK-TYPE1 (the link-local one probed on its link, not INCONCLUSIVE), 10.99.2.1 OK, exit 1. A second veth stands in for the WireGuard tunnel (wireguard-go is the
# lab's job); --tunnel names it.
# Usage: leaktest_stealth.sh DNSFENCE_BINARY      (root; exit 77 = skipped)
set -euo pipefail
bin=${1:?dnsfence binary}

C=dfd-ltc V=dfd-ltv R=dfd-ltr
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
lt_require unbound
lt_begin dfd-lt $C $V $R
veth $C tun0 10.99.2.2/24 $V tunpeer 10.99.2.1/24
veth $C lan0 10.99.1.2/24 $R lanpeer 10.99.1.1/24
veth $V up0 10.99.3.1/24 $R down0 10.99.3.2/24
nx $R ip addr add 198.51.100.53/32 dev lo
nx $C ip route add default via 10.99.2.1 dev tun0
nx $V sysctl -qw net.ipv4.ip_forward=1
nx $V ip route add 198.51.100.53/32 via 10.99.3.2
nx $R ip route add 10.99.2.0/24 via 10.99.3.1

start_unbound $V vpn 10.99.2.1 answer 192.0.2.99
start_unbound $R lan 10.99.1.1 answer 192.0.2.99
start_unbound $R isp 198.51.100.53 stealth
# The router's link-local resolver (unbound binds a scoped address).
nx $C ip addr add fe80::2/64 dev lan0 nodad
nx $R ip addr add fe80::1/64 dev lanpeer nodad
unbound_conf "$work/ll.conf" "fe80::1%lanpeer" answer 192.0.2.99
sed -i 's/do-ip6: no/do-ip6: yes\n  access-control: ::\/0 allow/' "$work/ll.conf"
ip netns exec $R unbound -d -c "$work/ll.conf" >"$work/ll.out" 2>&1 &
pids+=($!)

wait_for 10 nx $C kdig +time=1 +retry=0 @10.99.2.1 ready.leaktest.dnsfence.example A
wait_for 10 nx $C kdig +time=1 +retry=0 @10.99.1.1 ready.leaktest.dnsfence.example A
wait_for 10 grep -q "start of service" "$work/isp.conf.log"
wait_for 10 nx $C kdig +time=1 +retry=0 @fe80::1%lan0 ready.leaktest.dnsfence.example A

mkdir -p "/etc/netns/$C"
printf 'nameserver 198.51.100.53\nnameserver 10.99.2.1\nnameserver 10.99.1.1\nnameserver fe80::1%%lan0\noptions timeout:1 attempts:1\n' \
  >"/etc/netns/$C/resolv.conf"

start=$SECONDS
set +e
nx $C "$bin" leaktest --tunnel tun0 --public 192.0.2.1 --timeout 1000 --json \
  --pcap "$work/evidence.pcap" --html "$work/report.html" >"$work/report.json" 2>"$work/stderr"
rc=$?
set -e
elapsed=$((SECONDS - start))
cat "$work/report.json"

fail() { echo "FAIL: $*"; cat "$work/stderr"; exit 1; }
[[ $rc == 1 ]] || fail "exit code $rc, want 1 (leak)"
[[ $(verdicts "$work/report.json" 198.51.100.53) == "LEAK-TYPE2 STEALTH" ]] || fail "198.51.100.53: $(verdicts "$work/report.json" 198.51.100.53)"
[[ $(verdicts "$work/report.json" 10.99.1.1) == "LEAK-TYPE1" ]] || fail "10.99.1.1: $(verdicts "$work/report.json" 10.99.1.1)"
[[ $(verdicts "$work/report.json" 10.99.2.1) == "OK" ]] || fail "10.99.2.1: $(verdicts "$work/report.json" 10.99.2.1)"
[[ $(verdicts "$work/report.json" fe80::1) == "LEAK-TYPE1" ]] || fail "fe80::1%lan0: $(verdicts "$work/report.json" fe80::1)"
grep -q "leaktest.dnsfence.example" "$work/ll.conf.log" || fail "the link-local resolver logged no probe"
[[ $(verdicts "$work/report.json" 192.0.2.1) == "OK" ]] || fail "192.0.2.1 (blocked third party): $(verdicts "$work/report.json" 192.0.2.1)"
# The Stealth server really received and logged the probes it never answered.
grep -q "leaktest.dnsfence.example" "$work/isp.conf.log" || fail "the stealth resolver logged no probe"
[[ -s $work/evidence.pcap ]] || fail "no --pcap evidence"
grep -q "<svg" "$work/report.html" || fail "no diagram in --html"
((elapsed < 5)) || fail "took ${elapsed}s, want < 5 s"
echo "PASS: leaktest saw the Stealth server and the Type 1 leak in ${elapsed}s"
