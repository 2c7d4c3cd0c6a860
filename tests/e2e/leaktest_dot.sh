#!/usr/bin/env bash
# End-to-end: encrypted DNS flows on port 853 seen by `dnsfence leaktest`, in network namespaces
# (private and documentation addresses only, connected to nothing else):
#
#   dfd-ldc (client) tun0 10.96.2.2 ==veth "tunnel"== 10.96.2.1 dfd-ldv (VPN server, resolver 10.96.2.1)
#                    lan0 10.96.1.2 --veth LAN--      10.96.1.1 dfd-ldr (LAN side)
#   dfd-ldr holds 198.51.100.85, a DNS-over-TLS resolver (unbound, tls-port 853) reached via lan0;
#   dfd-ldv holds 203.0.113.85, a third-party DoT resolver reached through the tunnel.
#
# The client resolves through a local unbound stub that forwards over TLS (forward-tls-upstream,
# real TLS handshakes and answers), as systemd-resolved with DNSOverTLS would:
# Run 1, stub on 127.0.0.1 -> 198.51.100.85@853 via lan0: 198.51.100.85 LEAK-TYPE1 (flow "dot"), exit 1.
# Run 2, stub on 127.0.0.2 -> 203.0.113.85@853 via tun0: 203.0.113.85 LEAK-TYPE2 (flow "dot"), exit 1.
# Run 3, resolv.conf = a local stub (python: no DoQ client is packaged here) that, for every query,
#   first opens a DoQ flow to 198.51.100.85 udp/853 (a QUIC v1 Initial datagram, as a DoQ-forwarding
#   stub would), then forwards the query in plain DNS to the VPN's resolver 10.96.2.1 and relays the
#   answer: the flow is on the wire before leaktest's own lookup is answered, so inside its capture
#   window however busy the machine is (an event, not a race). 198.51.100.85 LEAK-TYPE1 (flow
#   "doq"), 10.96.2.1 OK, exit 1.
# Usage: leaktest_dot.sh DNSFENCE_BINARY [RECORD_DIR]   (root; exit 77 = skipped). With RECORD_DIR,
# each run's --record facts are kept there (how tests/data/detector/do[tq]_*.json were made).
set -euo pipefail
bin=${1:?dnsfence binary}
record_dir=${2:-}

C=dfd-ldc V=dfd-ldv R=dfd-ldr
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
lt_require unbound openssl python3
lt_begin dfd-ld $C $V $R
chmod 755 "$work"
veth $C tun0 10.96.2.2/24 $V tunpeer 10.96.2.1/24
veth $C lan0 10.96.1.2/24 $R lanpeer 10.96.1.1/24
nx $C ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
nx $V ip addr add 203.0.113.85/32 dev lo
nx $R ip addr add 198.51.100.85/32 dev lo
nx $C ip route add default via 10.96.2.1 dev tun0
nx $C ip route add 198.51.100.85/32 via 10.96.1.1 dev lan0

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=dot.test -keyout "$work/dot.key" \
  -out "$work/dot.pem" >/dev/null 2>&1
start_unbound $V vpn 10.96.2.1 answer 192.0.2.99
dot_server() {  # dot_server NS NAME ADDR: unbound answering $ZONE over TLS on ADDR@853
  unbound_conf "$work/$2.conf" "$3@853" answer 192.0.2.99
  sed -i "s|^server:|server:\n  tls-port: 853\n  tls-service-key: \"$work/dot.key\"\n  tls-service-pem: \"$work/dot.pem\"|" \
    "$work/$2.conf"
  ip netns exec "$1" unbound -d -c "$work/$2.conf" >"$work/$2.out" 2>&1 &
  pids+=($!)
}
dot_stub() {  # dot_stub NAME ADDR UPSTREAM: a local stub forwarding everything over TLS
  cat >"$work/$1.conf" <<CONF
server:
  interface: $2
  port: 53
  do-ip6: no
  chroot: ""
  username: ""
  pidfile: ""
  directory: "$work"
  use-syslog: no
  logfile: "$work/$1.conf.log"
  verbosity: 1
  num-threads: 1
  access-control: 127.0.0.0/8 allow
  module-config: "iterator"
  qname-minimisation: no
forward-zone:
  name: "."
  forward-addr: $3@853
  forward-tls-upstream: yes
remote-control:
  control-enable: no
CONF
  ip netns exec $C unbound -d -c "$work/$1.conf" >"$work/$1.out" 2>&1 &
  pids+=($!)
}
dot_server $R lan-dot 198.51.100.85
dot_server $V third-dot 203.0.113.85
dot_stub stub-lan 127.0.0.1 198.51.100.85
dot_stub stub-tun 127.0.0.2 203.0.113.85
wait_for 10 nx $C kdig +time=1 +retry=0 @10.96.2.1 "ready.$ZONE" A
wait_for 10 nx $C kdig +tls +time=2 +retry=0 @198.51.100.85 "ready.$ZONE" A
wait_for 10 nx $C kdig +tls +time=2 +retry=0 @203.0.113.85 "ready.$ZONE" A
# Not through the stubs: unbound keeps an upstream TLS connection open, and the first query of a
# run must open a fresh one (a SYN to 853) for the capture to see the flow.
wait_for 10 grep -q "start of service" "$work/stub-lan.conf.log"
wait_for 10 grep -q "start of service" "$work/stub-tun.conf.log"

fail() { echo "FAIL: $*"; cat "$work"/*.stderr 2>/dev/null; exit 1; }
leaktest() {  # leaktest RUN [ARG...]: one run in the client, leaves $work/RUN.json, sets rc and elapsed
  local start=$SECONDS
  set +e
  nx $C "$bin" leaktest --tunnel tun0 --no-public --timeout 1000 --json --record "$work/$1.facts.json" "${@:2}" \
    >"$work/$1.json" 2>"$work/$1.stderr"
  rc=$?
  set -e
  elapsed=$((SECONDS - start))
  cat "$work/$1.json"
  [[ -z $record_dir ]] || cp "$work/$1.facts.json" "$record_dir/$1.json"
  ((elapsed < 5)) || fail "run $1 took ${elapsed}s, want < 5 s"
}
wires() {  # wires REPORT ADDRESS VERDICT: the sorted wires of that finding's evidence
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))
print(" ".join(sorted({e["wire"] for f in r["findings"] if f["resolver"]==sys.argv[2] and f["verdict"]==sys.argv[3]
  for e in f["evidence"]})))' "$1" "$2" "$3"
}
mkdir -p "/etc/netns/$C"

printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:1\n' >"/etc/netns/$C/resolv.conf"
leaktest dot_type1
[[ $rc == 1 ]] || fail "run 1: exit code $rc, want 1"
[[ $(verdicts "$work/dot_type1.json" 198.51.100.85) == "LEAK-TYPE1" ]] ||
  fail "run 1, 198.51.100.85: $(verdicts "$work/dot_type1.json" 198.51.100.85)"
[[ $(wires "$work/dot_type1.json" 198.51.100.85 LEAK-TYPE1) == "dot" ]] || fail "run 1: evidence is not the DoT flow"
[[ $(verdicts "$work/dot_type1.json" 203.0.113.85) == "" ]] || fail "run 1: 203.0.113.85 was not used"
# The stub really resolved the system probe over TLS at 198.51.100.85.
probe=$(python3 -c 'import json,sys; print([p["name"] for p in json.load(open(sys.argv[1]))["probes"]
  if p["kind"]=="system"][0])' "$work/dot_type1.facts.json")
grep -q "$probe" "$work/lan-dot.conf.log" || fail "the DoT server did not log the probe $probe"

printf 'nameserver 127.0.0.2\noptions timeout:2 attempts:1\n' >"/etc/netns/$C/resolv.conf"
leaktest dot_type2
[[ $rc == 1 ]] || fail "run 2: exit code $rc, want 1"
[[ $(verdicts "$work/dot_type2.json" 203.0.113.85) == "LEAK-TYPE2" ]] ||
  fail "run 2, 203.0.113.85: $(verdicts "$work/dot_type2.json" 203.0.113.85)"
[[ $(wires "$work/dot_type2.json" 203.0.113.85 LEAK-TYPE2) == "dot" ]] || fail "run 2: evidence is not the DoT flow"
[[ $(verdicts "$work/dot_type2.json" 198.51.100.85) == "" ]] || fail "run 2: 198.51.100.85 was not used"

# Run 3: the DoQ-opening stub on 127.0.0.3 (see the header). It writes "ready" once bound.
nx $C ip addr add 127.0.0.3/8 dev lo 2>/dev/null || true
ip netns exec $C python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.3", 53))
q = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
up.settimeout(1.0)
hdr = bytes([0xc3, 0, 0, 0, 1, 8]) + os.urandom(8) + bytes([0, 0, 0x44, 0x9e])
open(sys.argv[1], "w").write("ready\n")
while True:
    msg, client = s.recvfrom(4096)
    q.sendto(hdr + bytes(1200 - len(hdr)), ("198.51.100.85", 853))
    up.sendto(msg, ("10.96.2.1", 53))
    try:
        s.sendto(up.recv(4096), client)
    except socket.timeout:
        pass
' "$work/doq.ready" >"$work/doq.out" 2>&1 &
pids+=($!)
wait_for 10 grep -q ready "$work/doq.ready"
printf 'nameserver 127.0.0.3\noptions timeout:2 attempts:1\n' >"/etc/netns/$C/resolv.conf"
leaktest doq_type1 --vpn-resolver 10.96.2.1   # the stub's upstream, not in resolv.conf
[[ $rc == 1 ]] || fail "run 3: exit code $rc, want 1"
[[ $(verdicts "$work/doq_type1.json" 198.51.100.85) == "LEAK-TYPE1" ]] ||
  fail "run 3, 198.51.100.85: $(verdicts "$work/doq_type1.json" 198.51.100.85)"
[[ $(wires "$work/doq_type1.json" 198.51.100.85 LEAK-TYPE1) == "doq" ]] || fail "run 3: evidence is not the DoQ flow"
[[ $(verdicts "$work/doq_type1.json" 10.96.2.1) == "OK" ]] || fail "run 3, 10.96.2.1: $(verdicts "$work/doq_type1.json" 10.96.2.1)"
echo "PASS: DoT outside the tunnel LEAK-TYPE1, DoT inside to a third party LEAK-TYPE2, DoQ outside LEAK-TYPE1"
