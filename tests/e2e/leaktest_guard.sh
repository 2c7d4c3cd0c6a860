#!/usr/bin/env bash
# End-to-end: a client-side guard that keeps DNS in the tunnel, seen by `dnsfence leaktest` as OK
# with evidence, in network namespaces (private and documentation addresses only):
#
#   dfd-lgc (client) tun0 10.95.2.2 ==veth "tunnel"== 10.95.2.1 dfd-lgv (VPN server, resolver 10.95.2.1)
#                    lan0 10.95.1.2 --veth LAN--      10.95.1.1 dfd-lgr (the LAN's resolver, answers)
#
# The client's resolv.conf lists the LAN's resolver 10.95.1.1, as DHCP would; leaktest is told the
# VPN's resolver (--vpn-resolver 10.95.2.1), which the client never lists itself here.
# Run 1, a DNAT in the client's nat output hook (nft) sends DNS for any other resolver to 10.95.2.1:
#   10.95.1.1 OK "redirected on this machine", with the redirected packets on tun0 as evidence;
#   10.95.2.1 OK; exit 0; the LAN resolver logged no probe.
# Run 2, `dnsfence firewall apply` with the client profile (tunnel tun0, resolvers [10.95.2.1]),
#   resolv.conf 10.95.1.1 then 10.95.2.1: 10.95.1.1 OK "refused on this machine"; exit 0; the LAN
#   resolver logged no probe. (Not both at once: in the output hook `oifname` is the device of the
#   route before the DNAT, so the profile's "leak" rules reject the redirected packets too.)
# Run 3, no guard at all: 10.95.1.1 LEAK-TYPE1 (the control: the same setup leaks without it).
# Usage: leaktest_guard.sh DNSFENCE_BINARY [RECORD_DIR]   (root; exit 77 = skipped)
set -euo pipefail
bin=${1:?dnsfence binary}
record_dir=${2:-}

C=dfd-lgc V=dfd-lgv R=dfd-lgr
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
lt_require unbound nft python3
lt_begin dfd-lg $C $V $R
veth $C tun0 10.95.2.2/24 $V tunpeer 10.95.2.1/24
veth $C lan0 10.95.1.2/24 $R lanpeer 10.95.1.1/24
nx $C ip route add default via 10.95.2.1 dev tun0

start_unbound $V vpn 10.95.2.1 answer 192.0.2.99
start_unbound $R lan 10.95.1.1 answer 192.0.2.99
wait_for 10 nx $C kdig +time=1 +retry=0 @10.95.2.1 "ready.$ZONE" A
wait_for 10 nx $C kdig +time=1 +retry=0 @10.95.1.1 "ready.$ZONE" A

cat >"$work/client.toml" <<'TOML'
[firewall]
profile = "client"
tunnel = "tun0"
resolvers = ["10.95.2.1"]
TOML
dnat() {
  nx $C nft -f - <<'NFT'
table ip dfdlg {
  chain out {
    type nat hook output priority -100;
    ip daddr != { 127.0.0.0/8, 10.95.2.1 } udp dport 53 dnat to 10.95.2.1
    ip daddr != { 127.0.0.0/8, 10.95.2.1 } tcp dport 53 dnat to 10.95.2.1
  }
  chain post {
    type nat hook postrouting priority 100;
    oifname "tun0" ip saddr != 10.95.2.2 masquerade  # the source the LAN route chose, before the DNAT
  }
}
NFT
}

fail() { echo "FAIL: $*"; cat "$work"/*.stderr 2>/dev/null; exit 1; }
leaktest() {  # leaktest RUN: one run in the client, leaves $work/RUN.json, sets rc
  local start=$SECONDS
  set +e
  nx $C "$bin" leaktest --tunnel tun0 --vpn-resolver 10.95.2.1 --no-public --timeout 1000 --json --record "$work/$1.facts.json" \
    >"$work/$1.json" 2>"$work/$1.stderr"
  rc=$?
  set -e
  cat "$work/$1.json"
  [[ -z $record_dir ]] || cp "$work/$1.facts.json" "$record_dir/$1.json"
  (((SECONDS - start) < 5)) || fail "run $1 took $((SECONDS - start))s, want < 5 s"
}
explains() {  # explains REPORT ADDRESS TEXT: a finding about ADDRESS says TEXT
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))
sys.exit(0 if any(f["resolver"]==sys.argv[2] and sys.argv[3] in f["explanation"] for f in r["findings"]) else 1)' "$@"
}
lan_saw_probes() { grep -q '[0-9a-f]\{16\}\.'"$ZONE" "$work/lan.conf.log"; }
mkdir -p "/etc/netns/$C"

printf 'nameserver 10.95.1.1\noptions timeout:1 attempts:1\n' >"/etc/netns/$C/resolv.conf"
dnat
leaktest dnat_guard
[[ $rc == 0 ]] || fail "run 1: exit code $rc, want 0"
[[ $(verdicts "$work/dnat_guard.json" 10.95.1.1) == "OK" ]] || fail "run 1, 10.95.1.1: $(verdicts "$work/dnat_guard.json" 10.95.1.1)"
explains "$work/dnat_guard.json" 10.95.1.1 "redirected on this machine" || fail "run 1: not explained as a redirect"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))
ev=[e for f in r["findings"] if f["resolver"]=="10.95.1.1" for e in f["evidence"]]
sys.exit(0 if ev and all(e["ifname"]=="tun0" and "10.95.2.1:53" in (e["src"], e["dst"]) for e in ev) else 1)' \
  "$work/dnat_guard.json" || fail "run 1: the evidence is not the redirected packets on tun0"
[[ $(verdicts "$work/dnat_guard.json" 10.95.2.1) == "OK" ]] || fail "run 1, 10.95.2.1: $(verdicts "$work/dnat_guard.json" 10.95.2.1)"
lan_saw_probes && fail "run 1: the LAN resolver received a probe"

nx $C nft delete table ip dfdlg
nx $C "$bin" firewall apply --config "$work/client.toml"
printf 'nameserver 10.95.1.1\nnameserver 10.95.2.1\noptions timeout:1 attempts:1\n' >"/etc/netns/$C/resolv.conf"
leaktest refused_guard
[[ $rc == 0 ]] || fail "run 2: exit code $rc, want 0"
[[ $(verdicts "$work/refused_guard.json" 10.95.1.1) == "OK" ]] ||
  fail "run 2, 10.95.1.1: $(verdicts "$work/refused_guard.json" 10.95.1.1)"
explains "$work/refused_guard.json" 10.95.1.1 "refused on this machine" || fail "run 2: not explained as refused here"
lan_saw_probes && fail "run 2: the LAN resolver received a probe"

nx $C "$bin" firewall remove --config "$work/client.toml"
leaktest unguarded
[[ $rc == 1 ]] || fail "run 3: exit code $rc, want 1"
[[ $(verdicts "$work/unguarded.json" 10.95.1.1) == "LEAK-TYPE1" ]] ||
  fail "run 3, 10.95.1.1: $(verdicts "$work/unguarded.json" 10.95.1.1)"
lan_saw_probes || fail "run 3: the LAN resolver logged no probe (so runs 1 and 2 proved nothing)"
echo "PASS: a client DNAT guard and the client profile read as OK with evidence; without them, LEAK-TYPE1"
