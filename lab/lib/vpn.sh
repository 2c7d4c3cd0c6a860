# shellcheck shell=bash
# The VPN: wireguard-go at both ends (no kernel module), full tunnel with wg-quick-style policy
# routing on the client, forwarding + NAT on the server. Interface names are unique host-wide
# because wireguard-go's control socket lives in the global /var/run/wireguard (pitfall 3).

vpn_up() {
  local k=$LAB_STATE/wg
  mkdir -p "$k" && chmod 700 "$k"
  umask 077
  wg genkey >"$k/server.key" && wg pubkey <"$k/server.key" >"$k/server.pub"
  wg genkey >"$k/client.key" && wg pubkey <"$k/client.key" >"$k/client.pub"

  # Server.
  start_bg wg-server $NS_VPN wireguard-go -f $WG_SERVER_IF
  wait_until 5 test -S /var/run/wireguard/$WG_SERVER_IF.sock || die "wireguard-go (server) did not start"
  nsx $NS_VPN wg set $WG_SERVER_IF listen-port $WG_PORT private-key "$k/server.key" \
    peer "$(cat "$k/client.pub")" allowed-ips $TUN_CLIENT/32,$TUN_CLIENT6/128
  ip -n $NS_VPN addr add $TUN_SERVER/24 dev $WG_SERVER_IF
  ip -n $NS_VPN addr add $TUN_SERVER6/64 dev $WG_SERVER_IF nodad
  ip -n $NS_VPN link set $WG_SERVER_IF up

  # Client: full tunnel, exactly what wg-quick does for AllowedIPs = 0.0.0.0/0.
  start_bg wg-client $NS_CLIENT wireguard-go -f $WG_CLIENT_IF
  wait_until 5 test -S /var/run/wireguard/$WG_CLIENT_IF.sock || die "wireguard-go (client) did not start"
  nsx $NS_CLIENT wg set $WG_CLIENT_IF private-key "$k/client.key" fwmark $WG_FWMARK \
    peer "$(cat "$k/server.pub")" endpoint $VPN_WAN:$WG_PORT allowed-ips 0.0.0.0/0,::/0
  ip -n $NS_CLIENT addr add $TUN_CLIENT/24 dev $WG_CLIENT_IF
  ip -n $NS_CLIENT addr add $TUN_CLIENT6/64 dev $WG_CLIENT_IF nodad
  ip -n $NS_CLIENT link set $WG_CLIENT_IF up
  ip -n $NS_CLIENT route add default dev $WG_CLIENT_IF table $WG_FWMARK
  ip -n $NS_CLIENT -6 route add default dev $WG_CLIENT_IF table $WG_FWMARK
  # Main table first, ignoring its default route (more specific routes, e.g. the LAN, still win:
  # that is the Type 1 path); everything not marked by wireguard-go itself goes to the tunnel.
  ip -n $NS_CLIENT rule add table main suppress_prefixlength 0 priority 32764
  ip -n $NS_CLIENT rule add not fwmark $WG_FWMARK table $WG_FWMARK priority 32765
  ip -n $NS_CLIENT -6 rule add table main suppress_prefixlength 0 priority 32764
  ip -n $NS_CLIENT -6 rule add not fwmark $WG_FWMARK table $WG_FWMARK priority 32765
  sysctl_ns $NS_CLIENT net.ipv4.conf.all.src_valid_mark=1  # pitfall 4
  nsx $NS_CLIENT nft -f - <<NFT
table inet dfl_wgquick {
  chain preraw { type filter hook prerouting priority raw; policy accept;
    iifname != "$WG_CLIENT_IF" ip daddr $TUN_CLIENT fib saddr type != local drop
    iifname != "$WG_CLIENT_IF" ip6 daddr $TUN_CLIENT6 fib saddr type != local drop
  }
  chain premangle { type filter hook prerouting priority mangle; policy accept;
    meta l4proto udp meta mark set ct mark
  }
  chain postmangle { type filter hook postrouting priority mangle; policy accept;
    meta l4proto udp meta mark $WG_FWMARK ct mark set meta mark
  }
}
NFT
  vpn_handshake || die "no WireGuard handshake"
}

# vpn_handshake: sends one datagram into the tunnel and waits for a completed handshake.
vpn_handshake() {
  nsx $NS_CLIENT bash -c "echo hello >/dev/udp/$TUN_SERVER/9" 2>/dev/null || true
  wait_until 5 bash -c "ip netns exec $NS_CLIENT wg show $WG_CLIENT_IF latest-handshakes | awk '{exit \$2>0?0:1}'"
}

# vpn_roam: after the client's address changed. wireguard-go 0.0.20220316 keeps sending from the
# cached (now deleted) source address; setting the endpoint again clears that cache, as a VPN
# client does when the network changes.
vpn_roam() {
  nsx $NS_CLIENT wg set $WG_CLIENT_IF peer "$(cat "$LAB_STATE/wg/server.pub")" endpoint $VPN_WAN:$WG_PORT
}

vpn_down() { stop_bg wg-client; stop_bg wg-server; }
