#!/usr/bin/env bash
# dnsfence serve in a VPN-server namespace; a client namespace asks resolvers it believes are
# elsewhere: 192.0.2.53 / 2001:db8::53 (third party), 10.77.0.53 (LAN-style), 198.51.100.53 (an
# allowlisted resolver that really exists, in a third namespace), 203.0.113.5 (refused in tproxy
# mode). Real nft rules:
#   redirect: nat prerouting DNAT of udp/tcp 53 to the plain listener (the paper's design);
#   tproxy:   prerouting `tproxy to :5300` + mark, fwmark -> table 100 with `local default dev lo`.
# kdig only accepts answers from the address it asked, so every answer proves the reply path.
# serve runs as nobody with no capability in every mode (CapPrm and CapEff 0); in tproxy mode a
# query tproxied from a port other than 53 is dropped and counted, and a foreign socket on UDP
# port 53 makes startup fail with a clear error.
# Usage: DNSFENCE=... tests/e2e/serve/namespaces.sh redirect|tproxy   (root; exit 77 = skipped)
source "$(dirname "$0")/lib.sh"
MODE=${1:?redirect, tproxy or tproxy53}
# tproxy53: the transparent listener has the original port (`tproxy to :53`), so UDP replies leave
# through IP_PKTINFO on the listener; with :5300 they leave through the shared send-only socket on :53.
TPORT=5300
if [[ $MODE == tproxy53 ]]; then
  MODE=tproxy
  TPORT=53
fi
if [[ $(id -u) != 0 ]] || ! command -v nft >/dev/null; then
  echo "skipped: needs root and nft"
  exit 77
fi

TAG=$$
C=dfs-c$TAG S=dfs-s$TAG R=dfs-r$TAG
del_ns() { for ns in $C $S $R; do ip netns del "$ns" 2>/dev/null || true; done; }
trap 'cleanup; del_ns' EXIT
in_c() { ip netns exec $C "$@"; }
in_s() { ip netns exec $S "$@"; }

for ns in $C $S $R; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
done
ip link add vc$TAG netns $C type veth peer name vs$TAG netns $S
ip link add vr$TAG netns $R type veth peer name vq$TAG netns $S
ip -n $C addr add 10.99.0.2/24 dev vc$TAG
ip -n $C -6 addr add fd00:99::2/64 dev vc$TAG nodad
ip -n $S addr add 10.99.0.1/24 dev vs$TAG
ip -n $S -6 addr add fd00:99::1/64 dev vs$TAG nodad
ip -n $S addr add 10.98.0.1/24 dev vq$TAG
ip -n $R addr add 10.98.0.2/24 dev vr$TAG
ip -n $R addr add 198.51.100.53/32 dev vr$TAG
ip -n $C link set vc$TAG up
ip -n $S link set vs$TAG up
ip -n $S link set vq$TAG up
ip -n $R link set vr$TAG up
ip -n $C route add default via 10.99.0.1
ip -n $C -6 route add default via fd00:99::1
ip -n $S route add 198.51.100.53/32 via 10.98.0.2
ip -n $R route add default via 10.98.0.1

start_unbound provider 127.0.0.1 5391 $S
start_unbound chosen 198.51.100.53 53 $R

cat >"$WORK/dnsfence.toml" <<CONF
[serve]
listen = ["10.99.0.1:5353", "[fd00:99::1]:5353"]
mode = "$MODE"
tproxy_listen = ["0.0.0.0:$TPORT", "[::]:$TPORT"]
upstreams = ["127.0.0.1:5391"]
workers = 2
upstream_timeout_ms = 1000
metrics = "127.0.0.1:9153"
user = "nobody"
[[serve.destinations]]
prefixes = ["203.0.113.0/24"]
action = "refuse"
[allowlist]
addresses = ["198.51.100.53"]
CONF

if [[ $MODE == redirect ]]; then
  in_s nft -f - <<NFT
table inet dfs$TAG {
  chain pre {
    type nat hook prerouting priority dstnat;
    iifname "vs$TAG" ip daddr 198.51.100.53 accept
    iifname "vs$TAG" meta l4proto { udp, tcp } th dport 53 dnat ip to 10.99.0.1:5353
    iifname "vs$TAG" meta l4proto { udp, tcp } th dport 53 dnat ip6 to [fd00:99::1]:5353
  }
}
NFT
  in_s sysctl -qw net.ipv4.ip_forward=1  # the allowlisted resolver is routed, not redirected
else
  in_s nft -f - <<NFT
table inet dfs$TAG {
  chain pre {
    type filter hook prerouting priority mangle;
    iifname "vs$TAG" meta nfproto ipv4 meta l4proto { udp, tcp } th dport 53 tproxy ip to :$TPORT meta mark set 1 accept
    iifname "vs$TAG" meta nfproto ipv6 meta l4proto { udp, tcp } th dport 53 tproxy ip6 to :$TPORT meta mark set 1 accept
    iifname "vs$TAG" meta nfproto ipv4 udp dport 5454 tproxy ip to :$TPORT meta mark set 1 accept
  }
}
NFT
  in_s ip rule add fwmark 1 lookup 100
  in_s ip route add local default dev lo table 100
  in_s ip -6 rule add fwmark 1 lookup 100
  in_s ip -6 route add local default dev lo table 100
fi

if [[ $MODE == tproxy && $TPORT != 53 ]]; then
  # Replies from port 53 need UDP port 53 on the wildcard address: taken by someone else, the
  # start must fail and say why (and not share that socket's traffic).
  ip netns exec $S python3 -c "
import signal, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 53))
print('bound', flush=True)
signal.pause()
" >"$WORK/squatter.log" 2>&1 &
  SQUATTER=$!
  PIDS+=("$SQUATTER")
  wait_until 5 grep -q bound "$WORK/squatter.log"
  if in_s timeout 10 "$DNSFENCE" serve --config "$WORK/dnsfence.toml" >"$WORK/refused.log" 2>&1; then
    fail "tproxy: start refused while something else has UDP port 53"
  else
    check "tproxy: start refused while something else has UDP port 53, with the reason" \
      grep -q "tproxy reply socket 0.0.0.0:53.*in use" "$WORK/refused.log"
  fi
  kill "$SQUATTER"
  wait "$SQUATTER" 2>/dev/null || true
fi

ip netns exec $S "$DNSFENCE" serve --config "$WORK/dnsfence.toml" >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
PIDS+=("$SERVE_PID")
wait_until 10 in_s curl -sf http://127.0.0.1:9153/metrics -o /dev/null
kq() { in_c kdig +time=3 +retry=0 "$@" 2>&1; }

check "$MODE:$TPORT: UDP v4 to a third-party resolver answered by the provider" grep -q 192.0.2.10 <<<"$(kq @192.0.2.53 www.example +short)"
check "$MODE:$TPORT: TCP v4 to a third-party resolver" grep -q 192.0.2.10 <<<"$(kq @192.0.2.53 www.example +tcp +short)"
check "$MODE:$TPORT: UDP v6 to a third-party resolver" grep -q 2001:db8::10 <<<"$(kq @2001:db8::53 www.example AAAA +short)"
check "$MODE:$TPORT: TCP v6 to a third-party resolver" grep -q 2001:db8::10 <<<"$(kq @2001:db8::53 www.example AAAA +tcp +short)"
check "$MODE:$TPORT: LAN resolver answered by the provider" grep -q provider <<<"$(kq @10.77.0.53 who.example TXT +short)"
check "$MODE:$TPORT: DoH canary answered locally" grep -q NXDOMAIN <<<"$(kq @192.0.2.53 use-application-dns.net)"
check "$MODE:$TPORT: allowlisted resolver reached" grep -q chosen <<<"$(kq @198.51.100.53 who.example TXT +short)"
check "$MODE:$TPORT: allowlisted resolver over TCP" grep -q chosen <<<"$(kq @198.51.100.53 who.example TXT +tcp +short)"
metrics=$(in_s curl -s http://127.0.0.1:9153/metrics)
check "$MODE:$TPORT: runs as nobody" grep -q "^Uid:.*65534" /proc/$SERVE_PID/status
check "$MODE:$TPORT: no capability permitted" grep -qE '^CapPrm:[[:space:]]+0+$' /proc/$SERVE_PID/status
check "$MODE:$TPORT: no capability effective" grep -qE '^CapEff:[[:space:]]+0+$' /proc/$SERVE_PID/status
if [[ $MODE == tproxy ]]; then
  check "tproxy: refused destination" grep -q REFUSED <<<"$(kq @203.0.113.5 www.example)"
  check "tproxy: refused destination over TCP" grep -q REFUSED <<<"$(kq @203.0.113.5 www.example +tcp)"
  metrics=$(in_s curl -s http://127.0.0.1:9153/metrics)
  check "tproxy: public destinations counted" grep -q 'action="forward",destination="public"' <<<"$metrics"
  check "tproxy: private destinations counted" grep -q 'action="forward",destination="private"' <<<"$metrics"
  check "tproxy: allowlisted destinations passed" grep -q 'action="pass",destination="allowlisted"' <<<"$metrics"
  check "tproxy: refused destinations counted" grep -q 'action="refuse"' <<<"$metrics"
  check "tproxy: a query tproxied from port 5454 gets no answer" \
    bash -c "! ip netns exec $C kdig @192.0.2.53 -p 5454 +time=1 +retry=0 www.example | grep -q 'status:'"
  check "tproxy: ... and is counted as unanswerable" wait_until 5 sh -c \
    "ip netns exec $S curl -s http://127.0.0.1:9153/metrics | grep -q '^dnsfence_tproxy_unanswerable_total [1-9]'"
else
  check "redirect: queries counted (destination unknown behind DNAT)" grep -q 'destination="unknown"' <<<"$metrics"
fi
finish
