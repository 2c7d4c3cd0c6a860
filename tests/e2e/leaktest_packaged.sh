#!/usr/bin/env bash
# End-to-end: the shipped packaging/witness.toml, unmodified, behind the TLS-less stand-in for the
# proxy its comments ask for, works with `dnsfence leaktest --witness` out of the box: leaktest asks
# for the probe names it needs ({"count": N}) and gets a verdict, not INCONCLUSIVE. The key comes
# the way the systemd unit hands it over ($CREDENTIALS_DIRECTORY, LoadCredential=).
#
#   dfp-c (client) tun0 10.97.2.2 ==veth "tunnel"== 10.97.2.1 dfp-v (VPN server: unbound, stub
#   zone witness.example -> 192.0.2.53) 192.0.2.1 --veth-- dfp-w: 192.0.2.53, 2001:db8::53 (the
#   packaged listen addresses); its public API on 127.0.0.1:8053 is reached as 192.0.2.53:8053
#   through a DNAT, as a reverse proxy on the same host would.
# Usage: leaktest_packaged.sh DNSFENCE_BINARY      (root; exit 77 = skipped)
set -euo pipefail
bin=$(readlink -f "${1:?dnsfence binary}")
here=$(cd "$(dirname "$0")" && pwd)
packaged=$(cd "$here/../.." && pwd)/packaging/witness.toml

C=dfp-c V=dfp-v W=dfp-w
# shellcheck source=tests/e2e/lib.sh
source "$here/lib.sh"
lt_require unbound nft kdig curl python3
lt_begin dfp $C $V $W
ZONE=witness.example  # the packaged zone

veth $C tun0 10.97.2.2/24 $V tunpeer 10.97.2.1/24
veth $V up0 192.0.2.1/24 $W down0 192.0.2.53/24
nx $W ip addr add 2001:db8::53/64 dev down0 nodad
nx $C ip route add default via 10.97.2.1 dev tun0
nx $V sysctl -qw net.ipv4.ip_forward=1
nx $W ip route add 10.97.2.0/24 via 192.0.2.1
# The stand-in for the reverse proxy in front of the public API (the packaged api is loopback).
nx $W sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.down0.route_localnet=1
nx $W nft -f - <<'NFT'
table ip front {
  chain pre {
    type nat hook prerouting priority -100;
    ip daddr 192.0.2.53 tcp dport 8053 dnat to 127.0.0.1:8053
  }
}
NFT

mkdir -m 700 "$work/credentials"
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/credentials/witness.key")
chmod 400 "$work/credentials/witness.key"
CREDENTIALS_DIRECTORY="$work/credentials" ip netns exec $W "$bin" witness serve --config "$packaged" --user nobody \
  >"$work/witness.out" 2>&1 &
pids+=($!)
start_unbound $V vpn 10.97.2.1 stub 192.0.2.53
wait_for 10 nx $C curl -sf http://192.0.2.53:8053/healthz
wait_for 10 nx $C kdig +time=1 +retry=0 @10.97.2.1 "$ZONE" SOA

fail() { echo "FAIL: $*"; cat "$work"/*.stderr "$work/witness.out"; exit 1; }
mkdir -p "/etc/netns/$C"
printf 'nameserver 10.97.2.1\noptions timeout:1 attempts:1\n' >"/etc/netns/$C/resolv.conf"
set +e
nx $C "$bin" leaktest --tunnel tun0 --public 198.51.100.99 --witness http://192.0.2.53:8053 --timeout 1000 --json \
  >"$work/report.json" 2>"$work/report.stderr"
rc=$?
set -e
cat "$work/report.json"
verdict=$(verdicts "$work/report.json" 10.97.2.1)
[[ $verdict == OK ]] || fail "the VPN resolver's verdict: '$verdict' (exit $rc), want OK"
[[ $rc == 0 ]] || fail "exit code $rc, want 0"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))
sys.exit(0 if any("authority saw resolver 192.0.2.1 ask" in n for n in r["notes"]) else 1)' \
  "$work/report.json" || fail "the witness did not see the VPN resolver's egress address 192.0.2.1"
echo "PASS: leaktest against the packaged witness.toml: OK, from the witness's evidence"
