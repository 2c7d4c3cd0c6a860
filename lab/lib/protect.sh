# shellcheck shell=bash
# Protection steps, one function each. The proxy is the real `dnsfence serve` ($DNSFENCE); the
# firewall steps are still plain nft rules, each saying which `dnsfence firewall` command replaces
# it. Every step creates the table `inet dnsfence` in its namespace, exactly the table
# `dnsfence firewall` owns, so removing a step is `nft delete table inet dnsfence` today and
# `dnsfence firewall remove` later.

ALLOWLIST=("$PUBLIC_RESOLVER" "$PROVIDER_RESOLVER")  # user-chosen resolvers + the provider's own
ALLOWLIST6=("$PUBLIC_RESOLVER6")

# serve_start / serve_stop: `dnsfence serve` on the VPN server, redirect mode: plain listeners on
# the tunnel addresses (the DNAT target), the provider's resolver as upstream, DoH canary
# NXDOMAIN and DDR NODATA by default. --debug-log writes one line per query (name, action,
# destination class) to resolvers/serve.log, the evidence of what it intercepted; one worker keeps
# those lines in arrival order, like unbound's, so log barriers work on it.
serve_start() {
  recorded_pid serve >/dev/null && return 0
  BG_LOG=$(resolver_log serve) start_bg serve $NS_VPN "$DNSFENCE" serve \
    --listen $SERVE_LISTEN --listen "[$TUN_SERVER6]:53" --upstream $PROVIDER_RESOLVER:53 \
    --workers 1 --metrics 127.0.0.1:9153 --user nobody --debug-log
  wait_until 5 serve_answers || die "dnsfence serve did not answer: $(tail -5 "$(resolver_log serve)")"
}
serve_stop() { stop_bg serve; }
# serve_answers: a query to the proxy from the VPN server itself gets an answer (readiness; the
# witness answers an arbitrary name NXDOMAIN, which is an answer).
serve_answers() {
  recorded_pid serve >/dev/null || return 1
  nsx $NS_VPN kdig @$TUN_SERVER "$(probe_name ready)" +timeout=1 +retry=0 | grep -qE "status: (NOERROR|NXDOMAIN)"
}

# protect_server_redirect: the paper's transparent DNS proxy. Every DNS query a VPN client
# forwards (udp/tcp 53) to a resolver outside the allowlist is DNATed to the proxy; conntrack makes
# the reply come from the address the client asked. DoT (853) outside the allowlist is rejected.
# The rules do not depend on the proxy being alive: if it dies, DNS fails closed.
# `protect_server_redirect ipv4-only` leaves out the IPv6 rules, like the paper's `ip nat`
# commands (scenario 7 shows the IPv6 leak that remains).
# Later: dnsfence firewall apply --config (profile server, mode redirect).
protect_server_redirect() {
  local v6=yes
  [ "${1:-}" = ipv4-only ] && v6=no
  serve_start
  nsx $NS_VPN nft -f - <<NFT
table inet dnsfence
delete table inet dnsfence
table inet dnsfence {
  set allowlist { type ipv4_addr; flags interval; elements = { $(IFS=,; echo "${ALLOWLIST[*]}") } }
  set allowlist6 { type ipv6_addr; flags interval; elements = { $(IFS=,; echo "${ALLOWLIST6[*]}") } }
  chain dns_redirect { type nat hook prerouting priority dstnat; policy accept;
    iifname "$WG_SERVER_IF" ip saddr $TUN_NET ip daddr != @allowlist ip daddr != $TUN_SERVER meta l4proto { udp, tcp } th dport 53 counter dnat ip to $SERVE_LISTEN
  }
  chain forward { type filter hook forward priority filter; policy accept;
    iifname "$WG_SERVER_IF" ip daddr != @allowlist meta l4proto { udp, tcp } th dport { 53, 853 } counter reject
  }
}
NFT
  [ $v6 = yes ] && nsx $NS_VPN nft -f - <<NFT
add rule inet dnsfence dns_redirect iifname "$WG_SERVER_IF" ip6 daddr != @allowlist6 ip6 daddr != $TUN_SERVER6 meta l4proto { udp, tcp } th dport 53 counter dnat ip6 to [$TUN_SERVER6]:53
add rule inet dnsfence forward iifname "$WG_SERVER_IF" ip6 daddr != @allowlist6 meta l4proto { udp, tcp } th dport { 53, 853 } counter reject
NFT
  # NAT only sees new flows (pitfall 8): forget the flows of the previous case.
  nsx $NS_VPN conntrack -F >/dev/null 2>&1 || true
}

# protect_server_block: the paper's first remedy: forwarded DNS (and DoT) from VPN clients to
# anything but the allowlist is rejected (ICMP unreachable / TCP reset, so clients fail at once
# instead of timing out). No proxy involved; lookups to other resolvers fail by design.
# Later: dnsfence firewall apply --config (profile server, mode block).
protect_server_block() {
  nsx $NS_VPN nft -f - <<NFT
table inet dnsfence
delete table inet dnsfence
table inet dnsfence {
  set allowlist { type ipv4_addr; flags interval; elements = { $(IFS=,; echo "${ALLOWLIST[*]}") } }
  set allowlist6 { type ipv6_addr; flags interval; elements = { $(IFS=,; echo "${ALLOWLIST6[*]}") } }
  chain forward { type filter hook forward priority filter; policy accept;
    iifname "$WG_SERVER_IF" ip daddr != @allowlist meta l4proto { udp, tcp } th dport { 53, 853 } counter reject
    iifname "$WG_SERVER_IF" ip6 daddr != @allowlist6 meta l4proto { udp, tcp } th dport { 53, 853 } counter reject
  }
}
NFT
  nsx $NS_VPN conntrack -F >/dev/null 2>&1 || true
}

# protect_server_tproxy: the same interception with TPROXY: `dnsfence serve` in tproxy mode
# receives each query still addressed to the resolver the client asked (a transparent listener on
# :5300) and answers from that address (a transparent reply socket bound to it). The nft `tproxy`
# statement is not terminal and, when no transparent socket listens, lets the packet through (it
# would be forwarded: fail open), so the forward chain rejects DNS as in redirect mode. UDP and
# TCP, IPv4; IPv6 DNS from the tunnel is rejected in forward (scenario 7 covers IPv6 with redirect).
# Later: dnsfence firewall apply --config (mode tproxy).
TPROXY_PORT=5300 TPROXY_MARK=1 TPROXY_TABLE=100
protect_server_tproxy() {
  serve_tproxy_start
  nsx $NS_VPN nft -f - <<NFT
table inet dnsfence
delete table inet dnsfence
table inet dnsfence {
  set allowlist { type ipv4_addr; flags interval; elements = { $(IFS=,; echo "${ALLOWLIST[*]}") } }
  chain dns_tproxy { type filter hook prerouting priority mangle; policy accept;
    iifname "$WG_SERVER_IF" ip saddr $TUN_NET ip daddr != @allowlist ip daddr != $TUN_SERVER meta l4proto { udp, tcp } th dport 53 counter tproxy ip to :$TPROXY_PORT meta mark set $TPROXY_MARK accept
  }
  chain forward { type filter hook forward priority filter; policy accept;
    iifname "$WG_SERVER_IF" ip daddr != @allowlist meta l4proto { udp, tcp } th dport { 53, 853 } counter reject
    iifname "$WG_SERVER_IF" meta nfproto ipv6 meta l4proto { udp, tcp } th dport { 53, 853 } counter reject
  }
}
NFT
  ip -n $NS_VPN rule add fwmark $TPROXY_MARK lookup $TPROXY_TABLE priority 100 2>/dev/null || true
  ip -n $NS_VPN route replace local 0.0.0.0/0 dev lo table $TPROXY_TABLE
  nsx $NS_VPN conntrack -F >/dev/null 2>&1 || true
}
# serve_tproxy_start / serve_tproxy_stop: a second `dnsfence serve`, in tproxy mode (the
# redirect-mode one keeps its tunnel listeners); its debug log is resolvers/serve-tproxy.log.
serve_tproxy_start() {
  recorded_pid serve-tproxy >/dev/null && return 0
  local log; log=$(resolver_log serve-tproxy)
  BG_LOG=$log start_bg serve-tproxy $NS_VPN "$DNSFENCE" serve \
    --tproxy-listen 0.0.0.0:$TPROXY_PORT --listen 127.0.0.1:$((TPROXY_PORT + 1)) \
    --upstream $PROVIDER_RESOLVER:53 --workers 1 --metrics 127.0.0.1:9154 --user nobody --debug-log
  wait_until 5 serve_tproxy_listening || die "dnsfence serve (tproxy) did not start: $(tail -5 "$log")"
}
serve_tproxy_listening() {
  recorded_pid serve-tproxy >/dev/null && nsx $NS_VPN ss -Hlun "sport = :$TPROXY_PORT" | grep -q .
}
serve_tproxy_stop() { stop_bg serve-tproxy; }

# protect_client_guard: the client-side Type 1 guard. DNS that would leave by any interface but
# the tunnel is DNATed into the tunnel to the VPN's resolver (so lookups still succeed at once),
# with the tunnel's source address (it was chosen for the original route, and the server's
# cryptokey routing accepts only the tunnel address); anything on port 53 still leaving outside
# the tunnel is dropped.
# Later: dnsfence firewall apply --config (profile client, tunnel dflwg0, resolvers 10.64.0.53).
protect_client_guard() {
  nsx $NS_CLIENT nft -f - <<NFT
table inet dnsfence
delete table inet dnsfence
table inet dnsfence {
  chain dns_into_tunnel { type nat hook output priority -100; policy accept;
    oifname != { "$WG_CLIENT_IF", "lo" } meta l4proto { udp, tcp } th dport 53 counter dnat ip to $PROVIDER_RESOLVER:53
  }
  chain dns_tunnel_source { type nat hook postrouting priority srcnat; policy accept;
    oifname "$WG_CLIENT_IF" ip saddr != $TUN_CLIENT meta l4proto { udp, tcp } th dport 53 counter masquerade
  }
  chain dns_guard { type filter hook postrouting priority filter; policy accept;
    oifname != { "$WG_CLIENT_IF", "lo" } meta l4proto { udp, tcp } th dport 53 counter drop
  }
}
NFT
  nsx $NS_CLIENT conntrack -F >/dev/null 2>&1 || true
}

# unprotect: removes every protection step (the state of an unprotected run).
unprotect() {
  local ns
  serve_tproxy_stop
  ip -n $NS_VPN rule del fwmark $TPROXY_MARK lookup $TPROXY_TABLE priority 100 2>/dev/null || true
  ip -n $NS_VPN route flush table $TPROXY_TABLE 2>/dev/null || true
  for ns in $NS_VPN $NS_CLIENT; do
    nsx "$ns" nft delete table inet dnsfence 2>/dev/null || true
    nsx "$ns" conntrack -F >/dev/null 2>&1 || true
  done
}

# rule_counters NS: the packet counters of the protection rules (evidence).
rule_counters() { nsx "$1" nft list table inet dnsfence 2>/dev/null | grep -o 'counter packets [0-9]*' | awk '{s+=$3} END {print s+0}'; }
