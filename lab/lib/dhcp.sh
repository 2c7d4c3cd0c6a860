# shellcheck shell=bash
# DHCP on the coffee-shop/hotel LAN: the shop's dnsmasq (DHCP only; its DNS is the shop's unbound),
# an optional rogue dnsmasq on the attacker's laptop, and the client's udhcpc.

# shop_dhcp_start RESOLVERS [hotel] [slow]: (re)starts the shop's DHCP server pushing RESOLVERS
# (comma-separated). "hotel": the guest with the client's MAC gets its own resolver address.
# "slow": replies 2 s late, so a rogue server on the LAN answers first.
shop_dhcp_start() {
  local resolvers=$1 opt extra=()
  shift
  for opt in "$@"; do
    case $opt in
      hotel) extra+=("--dhcp-host=$CLIENT_MAC,set:guest1"
                     "--dhcp-option=tag:guest1,option:dns-server,$HOTEL_GUEST_RESOLVER") ;;
      slow) extra+=(--dhcp-reply-delay=2) ;;
    esac
  done
  stop_bg dnsmasq-shop
  start_bg dnsmasq-shop $NS_SHOP dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 \
    --user=root --interface=br-lan --bind-interfaces --no-ping --dhcp-authoritative \
    --dhcp-range=10.10.0.100,10.10.0.150,255.255.255.0,12h --dhcp-option=option:router,$LAN_GW \
    --dhcp-option=tag:!guest1,option:dns-server,"$resolvers" "${extra[@]}" \
    --dhcp-leasefile="$LAB_STATE/shop.leases" --pid-file= --log-dhcp \
    --log-facility="$LAB_EVIDENCE/dhcp-shop.log"
  wait_until 5 bash -c "ip netns exec $NS_SHOP ss -Hlun 'sport = :67' | grep -q ." \
    || die "shop dnsmasq did not start: $(cat "$LAB_STATE/out/dnsmasq-shop.out")"
}

# rogue_dhcp_start: the attacker's laptop answers DHCP, pushing the attacker's resolver.
rogue_dhcp_start() {
  stop_bg dnsmasq-rogue
  start_bg dnsmasq-rogue $NS_ROGUE dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 \
    --user=root --interface=eth0 --bind-interfaces --no-ping --dhcp-authoritative \
    --dhcp-range=10.10.0.200,10.10.0.210,255.255.255.0,12h --dhcp-option=option:router,$LAN_GW \
    --dhcp-option=option:dns-server,$ATTACKER_RESOLVER \
    --dhcp-leasefile="$LAB_STATE/rogue.leases" --pid-file= --log-dhcp \
    --log-facility="$LAB_EVIDENCE/dhcp-rogue.log"
  wait_until 5 bash -c "ip netns exec $NS_ROGUE ss -Hlun 'sport = :67' | grep -q ." \
    || die "rogue dnsmasq did not start: $(cat "$LAB_STATE/out/dnsmasq-rogue.out")"
}
rogue_dhcp_stop() { stop_bg dnsmasq-rogue; }

# client_dhcp: (re)starts the client's udhcpc and waits for a bound lease; prints the lease line.
client_dhcp() {
  stop_bg udhcpc
  rm -f "$LAB_STATE/lease"
  start_bg udhcpc $NS_CLIENT busybox udhcpc -f -i eth0 -s "$LAB_DIR/lib/udhcpc.script" -t 10 -T 1 -A 1
  wait_until 10 test -s "$LAB_STATE/lease" || die "no DHCP lease: $(tail -5 "$LAB_STATE/out/udhcpc.out")"
  cat "$LAB_STATE/lease"
}

# client_set_resolvers ADDR...: the user configures resolvers by hand (overrides DHCP's).
client_set_resolvers() {
  { local a; for a in "$@"; do echo "nameserver $a"; done
    echo "options timeout:1 attempts:1"; } >/etc/netns/$NS_CLIENT/resolv.conf
}
