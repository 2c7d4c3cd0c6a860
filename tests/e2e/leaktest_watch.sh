#!/usr/bin/env bash
# End-to-end: `dnsfence leaktest --watch` re-runs when a route or resolv.conf changes and prints
# only what changed, in network namespaces (private and documentation addresses only):
#
#   dflt-wc (client) tun0 10.97.2.2 ==veth "tunnel"== 10.97.2.1 dflt-wv (VPN server, resolver 10.97.2.1)
#                    lan0 10.97.1.2 --veth LAN--      10.97.1.1 dflt-wr (LAN resolver 10.97.1.1)
#   dflt-wv 10.97.3.1 --veth-- 10.97.3.2 dflt-wr, which also holds 198.51.100.10: a resolver the
#   user trusts (--trusted), reachable through the tunnel or, with a host route, via the LAN.
#
# leaktest --watch --watch-runs 2 --json (one JSON object per line) in the client:
#   line 1, the first run: resolv.conf = 10.97.2.1; 198.51.100.10 (--resolver, --trusted) via tun0: OK.
#   `ip route add 198.51.100.10/32 via 10.97.1.1 dev lan0` -> line 2, re-run 1 ("routes"): only
#     198.51.100.10 OK -> LEAK-TYPE1.
#   resolv.conf gains 10.97.1.1 -> line 3, re-run 2 (the resolv.conf file): only 10.97.1.1 LEAK-TYPE1 added.
#   Then it exits by itself (--watch-runs 2) with exit code 1, from the last run.
# Usage: leaktest_watch.sh DNSFENCE_BINARY      (root; exit 77 = skipped)
set -euo pipefail
bin=${1:?dnsfence binary}

C=dflt-wc V=dflt-wv R=dflt-wr
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
lt_require unbound kdig python3
lt_begin dflt-w $C $V $R
# No IPv6 in the client: its link-local addresses (DAD) would be address changes of their own.
nx $C sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
veth $C tun0 10.97.2.2/24 $V tunpeer 10.97.2.1/24
veth $C lan0 10.97.1.2/24 $R lanpeer 10.97.1.1/24
veth $V up0 10.97.3.1/24 $R down0 10.97.3.2/24
nx $R ip addr add 198.51.100.10/32 dev lo
nx $C ip route add default via 10.97.2.1 dev tun0
nx $V sysctl -qw net.ipv4.ip_forward=1
nx $V ip route add 198.51.100.10/32 via 10.97.3.2
nx $R ip route add 10.97.2.0/24 via 10.97.3.1

start_unbound $V vpn 10.97.2.1 answer 192.0.2.99
start_unbound $R lan 10.97.1.1 answer 192.0.2.99
start_unbound $R trusted 198.51.100.10 answer 192.0.2.99
wait_for 10 nx $C kdig +time=1 +retry=0 @10.97.2.1 "ready.$ZONE" A
wait_for 10 nx $C kdig +time=1 +retry=0 @10.97.1.1 "ready.$ZONE" A
wait_for 10 nx $C kdig +time=1 +retry=0 @198.51.100.10 "ready.$ZONE" A

mkdir -p "/etc/netns/$C"
printf 'nameserver 10.97.2.1\noptions timeout:1 attempts:1\n' >"/etc/netns/$C/resolv.conf"
# On failure: each run's findings in a line each first (CI shows only the start), then everything.
fail() {
  echo "FAIL: $*"
  python3 -c 'import json,sys
for n, l in enumerate(open(sys.argv[1]), 1):
    j = json.loads(l)
    for f in j.get("findings", []) + j.get("added", []):
        print(n, f["verdict"], f["resolver"], f["explanation"])' "$work/out" || true
  echo "--- output"; cat "$work/out"; echo "--- stderr"; cat "$work/stderr"; exit 1
}
lines() { wc -l <"$work/out"; }
has_lines() { (($(lines) >= $1)); }
line() { sed -n "${1}p" "$work/out"; }
# changes N: "added VERDICT ADDRESS ..., removed ..." of output line N, sorted
changes() {
  line "$1" | python3 -c 'import json,sys; j=json.load(sys.stdin)
f=lambda k: ",".join(sorted(x["verdict"]+" "+(x["resolver"] or "run") for x in j[k]))
print("added " + f("added") + "; removed " + f("removed"))'
}
field() { line "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"; }

# Not through the nx function: $! must be leaktest itself (ip netns exec execs it).
ip netns exec $C "$bin" leaktest --tunnel tun0 --resolver 198.51.100.10 --trusted 198.51.100.10 --no-public \
  --timeout 1000 --json --watch --watch-runs 2 --watch-timeout 40 >"$work/out" 2>"$work/stderr" &
lt=$!
pids+=("$lt")

wait_for 10 has_lines 1
[[ $(field 1 overall) == OK ]] || fail "first run: $(field 1 overall), want OK"
[[ $(verdicts <(line 1) 198.51.100.10) == "OK" ]] || fail "first run, 198.51.100.10: $(verdicts <(line 1) 198.51.100.10)"

nx $C ip route add 198.51.100.10/32 via 10.97.1.1 dev lan0
wait_for 15 has_lines 2
[[ $(field 2 rerun) == 1 ]] || fail "line 2 is not re-run 1"
[[ $(field 2 trigger) == *routes* ]] || fail "re-run 1 triggered by $(field 2 trigger), want routes"
[[ $(changes 2) == "added LEAK-TYPE1 198.51.100.10; removed OK 198.51.100.10" ]] || fail "re-run 1: $(changes 2)"
[[ $(field 2 overall) == LEAK-TYPE1 ]] || fail "re-run 1 overall: $(field 2 overall)"

printf 'nameserver 10.97.2.1\nnameserver 10.97.1.1\noptions timeout:1 attempts:1\n' >"/etc/netns/$C/resolv.conf"
wait_for 15 has_lines 3
[[ $(field 3 rerun) == 2 ]] || fail "line 3 is not re-run 2"
[[ $(field 3 trigger) == *resolv.conf* ]] || fail "re-run 2 triggered by $(field 3 trigger), want resolv.conf"
[[ $(changes 3) == "added LEAK-TYPE1 10.97.1.1; removed " ]] || fail "re-run 2: $(changes 3)"

# --watch-runs 2: it stops by itself; the exit code is the last run's (a leak: 1).
stopped() { ! kill -0 "$lt" 2>/dev/null; }
wait_for 10 stopped
rc=0
wait "$lt" || rc=$?
[[ $rc == 1 ]] || fail "exit code $rc, want 1"
(($(lines) == 3)) || fail "$(lines) lines of output, want 3"
echo "PASS: --watch re-ran after a route and a resolv.conf change and printed only those changes"
