# shellcheck shell=bash
# Namespaces, veth links, addresses, routes, forwarding and NAT of the lab. No daemons here.

# link NS_A IF_A ADDR_A NS_B IF_B ADDR_B: one veth pair between two namespaces, both ends up.
link() {
  ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
  [ -n "$3" ] && ip -n "$1" addr add "$3" dev "$2"
  [ -n "$6" ] && ip -n "$4" addr add "$6" dev "$5"
  ip -n "$1" link set "$2" up
  ip -n "$4" link set "$5" up
}

sysctl_ns() { nsx "$1" sysctl -qw "$2"; }

topology_up() {
  local ns
  for ns in "${LAB_NAMESPACES[@]}"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    # New namespaces inherit rp_filter defaults from the host (pitfall 4): pin them.
    sysctl_ns "$ns" net.ipv4.conf.all.rp_filter=0
    sysctl_ns "$ns" net.ipv4.conf.default.rp_filter=0
  done
  # The client's resolv.conf must exist before any `ip netns exec dfl-client` (pitfall 1).
  mkdir -p /etc/netns/$NS_CLIENT
  printf 'options timeout:1 attempts:1\n' >/etc/netns/$NS_CLIENT/resolv.conf

  # Coffee-shop / hotel LAN: a bridge in dfl-shop; the client and the rogue laptop plug into it.
  ip -n $NS_SHOP link add br-lan type bridge
  ip -n $NS_SHOP addr add $LAN_GW/24 dev br-lan
  ip -n $NS_SHOP link set br-lan up
  link $NS_CLIENT eth0 "" $NS_SHOP lan-client ""
  ip -n $NS_CLIENT link set eth0 down
  ip -n $NS_CLIENT link set eth0 address $CLIENT_MAC
  ip -n $NS_CLIENT link set eth0 up
  sysctl_ns $NS_CLIENT net.ipv4.conf.eth0.promote_secondaries=1
  link $NS_ROGUE eth0 $ROGUE_LAN/24 $NS_SHOP lan-rogue ""
  ip -n $NS_SHOP link set lan-client master br-lan
  ip -n $NS_SHOP link set lan-rogue master br-lan
  ip -n $NS_ROGUE route add default via $LAN_GW

  # The "internet" router and its neighbours.
  link $NS_SHOP wan $SHOP_WAN/24 $NS_INET to-shop $INET_SHOP/24
  ip -n $NS_SHOP addr add $SHOP_RESOLVER/32 dev wan
  ip -n $NS_SHOP addr add $HOTEL_GUEST_RESOLVER/32 dev wan
  ip -n $NS_SHOP addr add $SHOP_WAN6/64 dev wan nodad
  ip -n $NS_SHOP addr add $SHOP_RESOLVER6/128 dev wan nodad
  ip -n $NS_SHOP addr add $SHOPFWD_RESOLVER/32 dev wan
  ip -n $NS_SHOP addr add $SHOPFWD_RESOLVER6/128 dev wan nodad
  ip -n $NS_INET addr add $INET_SHOP6/64 dev to-shop nodad
  link $NS_VPN wan $VPN_WAN/28 $NS_INET to-vpn $INET_VPN/28
  ip -n $NS_VPN addr add $VPN_WAN6/64 dev wan nodad
  ip -n $NS_INET addr add $INET_VPN6/64 dev to-vpn nodad
  link $NS_AUTH eth0 $AUTH_ADDR/28 $NS_INET to-auth $INET_AUTH/28
  ip -n $NS_AUTH addr add $AUTH_ADDR_BANK/28 dev eth0
  ip -n $NS_AUTH addr add $AUTH_ADDR_NEWS/28 dev eth0
  link $NS_PUBLIC eth0 $PUBLIC_RESOLVER/25 $NS_INET to-public $INET_PUBLIC/25
  ip -n $NS_PUBLIC addr add $ATTACKER_RESOLVER/25 dev eth0
  ip -n $NS_PUBLIC addr add $FORGER_RESOLVER/25 dev eth0
  ip -n $NS_PUBLIC addr add $PUBLIC_RESOLVER6/64 dev eth0 nodad
  ip -n $NS_PUBLIC addr add $FORGER_RESOLVER6/64 dev eth0 nodad
  ip -n $NS_INET addr add $INET_PUBLIC6/64 dev to-public nodad
  link $NS_ISP eth0 $ISP_RESOLVER/24 $NS_INET to-isp $INET_ISP/24
  ip -n $NS_ISP addr add $REFUSER_RESOLVER/24 dev eth0
  ip -n $NS_ISP addr add $ISP_RESOLVER6/64 dev eth0 nodad
  ip -n $NS_ISP addr add $REFUSER_RESOLVER6/64 dev eth0 nodad
  ip -n $NS_INET addr add $INET_ISP6/64 dev to-isp nodad
  link $NS_VPN prov $VPN_PROV/24 $NS_PROVIDER eth0 $PROVIDER_RESOLVER/24
  for ns in $NS_SHOP $NS_VPN; do ip -n $ns route add default via "$( [ $ns = $NS_SHOP ] && echo $INET_SHOP || echo $INET_VPN)"; done
  ip -n $NS_AUTH route add default via $INET_AUTH
  ip -n $NS_PUBLIC route add default via $INET_PUBLIC
  ip -n $NS_ISP route add default via $INET_ISP
  ip -n $NS_PROVIDER route add default via $VPN_PROV
  ip -n $NS_SHOP -6 route add default via $INET_SHOP6
  ip -n $NS_VPN -6 route add default via $INET_VPN6
  ip -n $NS_PUBLIC -6 route add default via $INET_PUBLIC6
  ip -n $NS_ISP -6 route add default via $INET_ISP6
  for ns in $NS_SHOP $NS_INET $NS_VPN; do  # pitfall 5
    sysctl_ns $ns net.ipv4.ip_forward=1
    sysctl_ns $ns net.ipv6.conf.all.forwarding=1
  done

  # The shop NATs its LAN behind its WAN address; the VPN server NATs its clients and the
  # provider's resolver behind its public address.
  nsx $NS_SHOP nft -f - <<NFT
table ip dfl_lab_nat {
  chain post { type nat hook postrouting priority srcnat; policy accept;
    ip saddr $LAN_NET oifname "wan" masquerade
  }
}
NFT
  nsx $NS_VPN nft -f - <<NFT
table inet dfl_lab_nat {
  chain post { type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" masquerade
  }
}
NFT
}

# topology_down: deletes every lab namespace (and with it every link, rule and nft table in it).
# Processes the lab did not record (an explorer's shell, a leftover of a crashed run) are not
# killed: they are named, and keep their (now unnamed) namespace until they exit.
topology_down() {
  local ns left
  for ns in "${LAB_NAMESPACES[@]}"; do
    left=$(ip netns pids "$ns" 2>/dev/null | paste -sd' ' -) || true
    [ -n "$left" ] && log "warning: unrecorded processes still in $ns: $left (not killed)"
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf /etc/netns/$NS_CLIENT
}

topology_status() {
  local ns
  for ns in "${LAB_NAMESPACES[@]}"; do
    if grep -qw "$ns" <<<"$(ip netns list)"; then
      printf '  %-13s %s\n' "$ns" "$(ip -n "$ns" -br -4 addr | awk '$1 != "lo" {printf "%s=%s ", $1, $3}')"
    else
      printf '  %-13s (absent)\n' "$ns"
    fi
  done
}
