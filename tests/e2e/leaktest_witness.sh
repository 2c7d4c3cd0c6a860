#!/usr/bin/env bash
# End-to-end with the real `dnsfence witness` as the probe zone's authority: TAMPERED,
# INTERCEPTED, OK and STEALTH, in network namespaces (private and documentation addresses only,
# connected to nothing else):
#
#   dfd-lwc (client) tun0 10.98.2.2 ==veth "tunnel"== 10.98.2.1 dfd-lwv (VPN server)
#   dfd-lwv: the provider's resolver 10.98.2.1 (unbound, a stub zone pointing at the witness), and
#            DNAT of queries to the third-party resolver 192.0.2.1 onto it (the paper's proxy)
#   dfd-lwv 10.98.3.1 --veth-- 10.98.3.2 dfd-lwa: `dnsfence witness serve` for the probe zone on
#            10.98.3.2:53, its API on 10.98.3.2:8053; a coffee-shop resolver 100.64.0.53 that forges
#            answers (203.0.113.66) without asking anyone; an ISP resolver 198.51.100.53 that logs
#            every query and never answers (unbound, local-zone "." deny).
#
# Every run names the VPN's resolver (--vpn-resolver 10.98.2.1, the operator guide's recipe): it is
# probed too, and the address it asks the authority from is the VPN's egress, which tells a query
# the VPN intercepted (192.0.2.1's) from one a resolver answered itself.
# Run 1, resolv.conf = 100.64.0.53: 100.64.0.53 LEAK-TYPE2 + TAMPERED, 192.0.2.1 INTERCEPTED, exit 1.
# Run 2, resolv.conf = 10.98.2.1: 10.98.2.1 OK, 192.0.2.1 INTERCEPTED, overall INTERCEPTED, exit 0.
# Run 3, resolv.conf = 198.51.100.53, 10.98.2.1: 198.51.100.53 LEAK-TYPE2 + STEALTH, 10.98.2.1 OK,
#   exit 1; the witness saw only the VPN resolver's egress address 10.98.3.1.
# Usage: leaktest_witness.sh DNSFENCE_BINARY      (root; exit 77 = skipped)
set -euo pipefail
bin=$(readlink -f "${1:?dnsfence binary}")
here=$(cd "$(dirname "$0")" && pwd)

C=dfd-lwc V=dfd-lwv A=dfd-lwa
# shellcheck source=tests/e2e/lib.sh
source "$here/lib.sh"
lt_require unbound nft kdig curl python3
lt_begin dfd-lw $C $V $A
veth $C tun0 10.98.2.2/24 $V tunpeer 10.98.2.1/24
veth $V up0 10.98.3.1/24 $A down0 10.98.3.2/24
nx $A ip addr add 100.64.0.53/32 dev lo
nx $A ip addr add 198.51.100.53/32 dev lo
nx $C ip route add default via 10.98.2.1 dev tun0
nx $V sysctl -qw net.ipv4.ip_forward=1
nx $V ip route add 100.64.0.53/32 via 10.98.3.2
nx $V ip route add 198.51.100.53/32 via 10.98.3.2
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

# The witness: probe names under $ZONE answered 192.0.2.99; enough names for a run of leaktest
# (1 + 4 per probed resolver + 4 more for the VPN's + 1 per --public: 14 in runs 1 and 3).
cat >"$work/witness.toml" <<TOML
[witness]
zone = "$ZONE"
user = "nobody"
listen = ["10.98.3.2:53"]
api = "10.98.3.2:8053"
answer_a = ["192.0.2.99"]
answer_ttl = 0
run_ttl = 300
max_runs = 16
probes_per_run = 16
max_probes_per_run = 16
[[witness.ns]]
name = "ns1.$ZONE"
addresses = ["10.98.3.2"]
TOML
# Not through the nx function: $! must be the witness itself (ip netns exec execs it), not a subshell.
ip netns exec $A "$bin" witness serve --config "$work/witness.toml" >"$work/witness.out" 2>&1 &
pids+=($!)
start_unbound $A cafe 100.64.0.53 answer 203.0.113.66
start_unbound $A isp 198.51.100.53 stealth
start_unbound $V vpn 10.98.2.1 stub 10.98.3.2
wait_for 10 nx $A curl -sf http://10.98.3.2:8053/healthz
wait_for 10 nx $C kdig +time=1 +retry=0 @10.98.2.1 "$ZONE" SOA
wait_for 10 nx $C kdig +time=1 +retry=0 @100.64.0.53 "ready.$ZONE" A
wait_for 10 grep -q "start of service" "$work/isp.conf.log"

fail() { echo "FAIL: $*"; cat "$work"/*.stderr "$work/witness.out"; exit 1; }
leaktest() {  # leaktest RUN: runs leaktest in the client, leaves $work/RUN.json, sets rc
  local start=$SECONDS
  set +e
  nx $C "$bin" leaktest --tunnel tun0 --vpn-resolver 10.98.2.1 --public 192.0.2.1 --witness http://10.98.3.2:8053 \
    --timeout 1000 --json \
    >"$work/$1.json" 2>"$work/$1.stderr"
  rc=$?
  set -e
  cat "$work/$1.json"
  (((SECONDS - start) < 5)) || fail "run $1 took $((SECONDS - start))s, want < 5 s"
}
witness_saw() {  # witness_saw REPORT: the addresses the authority saw, from leaktest's notes
  python3 -c 'import json,re,sys; r=json.load(open(sys.argv[1]))
print(" ".join(sorted(m.group(1) for n in r["notes"] for m in [re.match(r"the authority saw resolver (\S+) ask", n)] if m)))' "$1"
}
mkdir -p "/etc/netns/$C"

printf 'nameserver 100.64.0.53\noptions timeout:1 attempts:1\n' >"/etc/netns/$C/resolv.conf"
leaktest tampered
[[ $rc == 1 ]] || fail "run 1: exit code $rc, want 1"
[[ $(verdicts "$work/tampered.json" 100.64.0.53) == "LEAK-TYPE2 TAMPERED" ]] ||
  fail "100.64.0.53: $(verdicts "$work/tampered.json" 100.64.0.53)"
[[ $(verdicts "$work/tampered.json" 192.0.2.1) == "INTERCEPTED" ]] ||
  fail "192.0.2.1: $(verdicts "$work/tampered.json" 192.0.2.1)"
[[ $(witness_saw "$work/tampered.json") == "10.98.3.1" ]] || fail "run 1: the witness saw $(witness_saw "$work/tampered.json")"

printf 'nameserver 10.98.2.1\noptions timeout:1 attempts:1\n' >"/etc/netns/$C/resolv.conf"
leaktest intercepted
[[ $rc == 0 ]] || fail "run 2: exit code $rc, want 0"
[[ $(verdicts "$work/intercepted.json" 10.98.2.1) == "OK" ]] || fail "10.98.2.1: $(verdicts "$work/intercepted.json" 10.98.2.1)"
[[ $(verdicts "$work/intercepted.json" 192.0.2.1) == "INTERCEPTED" ]] ||
  fail "192.0.2.1: $(verdicts "$work/intercepted.json" 192.0.2.1)"

printf 'nameserver 198.51.100.53\nnameserver 10.98.2.1\noptions timeout:1 attempts:1\n' >"/etc/netns/$C/resolv.conf"
leaktest stealth
[[ $rc == 1 ]] || fail "run 3: exit code $rc, want 1"
[[ $(verdicts "$work/stealth.json" 198.51.100.53) == "LEAK-TYPE2 STEALTH" ]] ||
  fail "198.51.100.53: $(verdicts "$work/stealth.json" 198.51.100.53)"
[[ $(verdicts "$work/stealth.json" 10.98.2.1) == "OK" ]] || fail "run 3, 10.98.2.1: $(verdicts "$work/stealth.json" 10.98.2.1)"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))
sys.exit(0 if any(f["verdict"]=="STEALTH" and "never reached the authority" in f["explanation"] for f in r["findings"]) else 1)' \
  "$work/stealth.json" || fail "run 3: the STEALTH finding does not rest on the witness"
[[ $(witness_saw "$work/stealth.json") == "10.98.3.1" ]] || fail "run 3: the witness saw $(witness_saw "$work/stealth.json")"
grep -q "$ZONE" "$work/isp.conf.log" || fail "the stealth resolver logged no probe"

# Run 4: two more resolvers to probe make the run need 22 names; this witness hands out at most 16
# (max_probes_per_run) and refuses more. leaktest cannot use the witness it was given: INCONCLUSIVE saying why, exit 2,
# no probe sent (the Stealth ISP logs none), never a verdict made of the failure.
isp_lines=$(wc -l <"$work/isp.conf.log")
extra=(--resolver 192.0.2.10 --resolver 192.0.2.11)
set +e
nx $C "$bin" leaktest --tunnel tun0 --vpn-resolver 10.98.2.1 --public 192.0.2.1 --witness http://10.98.3.2:8053 \
  --timeout 1000 --json "${extra[@]}" >"$work/short.json" 2>"$work/short.stderr"
rc=$?
set -e
cat "$work/short.json"
[[ $rc == 2 ]] || fail "run 4: exit code $rc, want 2"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))
ok = r["overall"] == "INCONCLUSIVE" and all(f["verdict"] in ("INCONCLUSIVE",) for f in r["findings"])
ok = ok and any("needs 22 probe names" in f["explanation"] and "max_probes_per_run" in f["explanation"] and "no probe was sent" in f["explanation"] for f in r["findings"])
sys.exit(0 if ok else 1)' "$work/short.json" || fail "run 4: not INCONCLUSIVE with the reason"
(($(wc -l <"$work/isp.conf.log") == isp_lines)) || fail "run 4 sent probes"
echo "PASS: with the real witness: TAMPERED, INTERCEPTED, OK, STEALTH, and INCONCLUSIVE when it hands out too few names"
