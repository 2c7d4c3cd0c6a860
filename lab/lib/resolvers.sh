# shellcheck shell=bash
# Resolvers of the lab, all unbound with generated configs and `log-queries` to per-resolver log
# files under $LAB_EVIDENCE/resolvers/ (the evidence). The probe zones' authority is the real
# `dnsfence witness serve` (witness.sh): it keeps no query log, its API says who asked.
#
#   name      namespace      address(es)                 role
#   shop      dfl-shop       10.10.0.1, 203.0.113.53,    coffee shop's resolver (LAN + public); poisons bank.leak.test
#                            2001:db8:113::53
#   hotel     dfl-shop       203.0.113.101               the hotel's per-guest resolver
#   isp       dfl-isp        100.64.53.53,               ISP resolver, Stealth: answers its customers (the
#                            2001:db8:64::53             shop's 203.0.113.0/24, 2001:db8:113::/64) only
#   refuser   dfl-isp        100.64.53.54,               another ISP resolver: answers REFUSED to outsiders
#                            2001:db8:64::54
#   shopfwd   dfl-shop       203.0.113.54,               the shop's dnsmasq, forwarding everything to the
#                            2001:db8:113::54            ISP (from 203.0.113.54, a customer: answered)
#   provider  dfl-provider   10.64.0.53                  the VPN provider's trusted resolver
#   public    dfl-public     198.51.100.53,              a "public" resolver the user chose (allowlisted)
#                            2001:db8:53::53
#   attacker  dfl-public     198.51.100.66               the stalker's resolver (a rented server)
#   forger    dfl-public     198.51.100.77,              dnsmasq answering every name of leak.test with
#                            2001:db8:53::77             203.0.113.66 without asking anyone
#   serve     dfl-vpn        10.8.0.1, fd00:8::1         `dnsfence serve` (not unbound: see protect.sh);
#                                                        its --debug-log is the "log" of this name
#   serve-tproxy  dfl-vpn    (transparent :5300)         `dnsfence serve` in tproxy mode (scenario 12)

# Untrusted resolvers: a probe name in any of their logs during a protected run is a leak.
UNTRUSTED_RESOLVERS=(shop hotel isp attacker)
ALL_RESOLVERS=(shop hotel isp provider public attacker serve serve-tproxy shopfwd refuser forger)
DNSMASQ_RESOLVERS=(shopfwd forger)

declare -A RESOLVER_NS=([shop]=$NS_SHOP [hotel]=$NS_SHOP [isp]=$NS_ISP
  [provider]=$NS_PROVIDER [public]=$NS_PUBLIC [attacker]=$NS_PUBLIC [serve]=$NS_VPN
  [serve-tproxy]=$NS_VPN [shopfwd]=$NS_SHOP [refuser]=$NS_ISP [forger]=$NS_PUBLIC)
declare -A RESOLVER_ADDR=([shop]=$SHOP_RESOLVER [hotel]=$HOTEL_GUEST_RESOLVER
  [isp]=$ISP_RESOLVER [provider]=$PROVIDER_RESOLVER [public]=$PUBLIC_RESOLVER
  [attacker]=$ATTACKER_RESOLVER [serve]=$TUN_SERVER [shopfwd]=$SHOPFWD_RESOLVER
  [refuser]=$REFUSER_RESOLVER [forger]=$FORGER_RESOLVER)

resolver_log() { echo "$LAB_EVIDENCE/resolvers/$1.log"; }
# A query's name in a log line: unbound writes "info: ADDR NAME. TYPE IN" (and, for its reply,
# "info: ADDR NAME. TYPE IN RCODE TIME CACHED SIZE": log-replies), dnsmasq "N ADDR/PORT
# query[TYPE] NAME from ADDR" (then "forwarded", "reply", "config" lines), dnsfence serve's debug
# log "query ... name=NAME. type=N ...".
LOG_NAME_BEFORE='[ =]'
# log_queries: only the lines of received queries (stdin to stdout), not replies.
log_queries() { grep -E ' IN$|query\[|^query ' || true; }

# unbound_conf NAME ADDR...: the common part of every instance; role-specific lines follow on stdin.
unbound_conf() {
  local name=$1 a; shift
  local dir=$LAB_STATE/unbound/$name
  mkdir -p "$dir"
  {
    cat <<CONF
server:
  verbosity: 0
  use-syslog: no
  logfile: "$(resolver_log "$name")"
  log-time-ascii: yes
  log-queries: yes
  # Replies too (with their RCODE): the matrix's ground truth of what each resolver answered.
  log-replies: yes
  username: ""
  chroot: ""
  directory: "$dir"
  pidfile: ""
  interface-automatic: no
  port: 53
  do-ip6: $(case "$*" in *:*) echo yes ;; *) echo no ;; esac)
  num-threads: 1
  so-reuseport: no
  module-config: "iterator"
  qname-minimisation: no
  access-control: 0.0.0.0/0 allow
  access-control: ::/0 allow
  outgoing-interface: $1
  # RFC 6761 makes "test." locally served (NXDOMAIN) by default; the probe zone lives below it.
  local-zone: "test." nodefault
CONF
    for a in "$@"; do echo "  interface: $a"; done
    cat
    printf 'remote-control:\n  control-enable: no\n'
  } >"$dir/unbound.conf"
  echo "$dir/unbound.conf"
}

# The recursive resolvers find each probe zone's witness through a stub zone (no root needed);
# the more specific one wins for bank.leak.test and dissident-news.leak.test.
stub_to_auth() {
  local z
  for z in "${WITNESS_ZONES[@]}"; do
    printf 'stub-zone:\n  name: "%s."\n  stub-addr: %s\n' "$z" "${WITNESS_ADDR[$z]}"
  done
}

resolver_start() {  # resolver_start NAME: writes the config of NAME and starts it
  local name=$1 conf
  case $name in
    shop)
      conf=$(unbound_conf shop $SHOP_RESOLVER $LAN_GW $SHOP_RESOLVER6 <<CONF
  # Poisoning (scenario 13): the shop forges the bank's address.
  local-zone: "bank.$PROBE_ZONE." redirect
  local-data: "bank.$PROBE_ZONE. 60 IN A $FORGED_ANSWER"
  # What a real resolver answers for the DoH canary, and a DDR designation of the shop's own DoH.
  local-zone: "use-application-dns.net." static
  local-data: "use-application-dns.net. 60 IN A 203.0.113.80"
  local-zone: "resolver.arpa." static
  local-data: '_dns.resolver.arpa. 60 IN SVCB 1 doh.shop.example. alpn="h2" port=443'
$(stub_to_auth)
CONF
      ) ;;
    hotel) conf=$(stub_to_auth | unbound_conf hotel $HOTEL_GUEST_RESOLVER) ;;
    attacker) conf=$(stub_to_auth | unbound_conf attacker $ATTACKER_RESOLVER) ;;
    public) conf=$(stub_to_auth | unbound_conf public $PUBLIC_RESOLVER $PUBLIC_RESOLVER6) ;;
    provider) conf=$(stub_to_auth | unbound_conf provider $PROVIDER_RESOLVER) ;;
    isp) conf=$(isp_conf isp deny $ISP_RESOLVER $ISP_RESOLVER6) ;;
    # The same ISP policy, but outsiders are told REFUSED (logged, then refused).
    refuser) conf=$(isp_conf refuser refuse $REFUSER_RESOLVER $REFUSER_RESOLVER6) ;;
    shopfwd | forger) dnsmasq_start "$name"; return ;;
    *) die "unknown resolver $name" ;;
  esac
  start_bg "unbound-$name" "${RESOLVER_NS[$name]}" unbound -d -p -c "$conf"
}

# isp_conf NAME deny|refuse ADDR...: an ISP resolver: its customers (the shop's public prefixes) get
# answers; everyone else is logged and then dropped (deny: a Stealth server) or refused.
# (`access-control: deny` would drop before logging: pitfall 7.)
isp_conf() {
  local name=$1 policy=$2; shift 2
  unbound_conf "$name" "$@" <<CONF
  access-control-view: 0.0.0.0/0 outsiders
  access-control-view: ::/0 outsiders
  access-control-view: $SHOP_WAN_NET customers
  access-control-view: $SHOP_WAN_NET6 customers
$(stub_to_auth)
view:
  name: "outsiders"
  local-zone: "." $policy
  # Views get unbound's default local zones too; "test." (static) would answer NXDOMAIN.
  local-zone: "test." $policy
view:
  name: "customers"
  view-first: yes
CONF
}

# dnsmasq_start shopfwd|forger: the matrix's dnsmasq resolvers, logging every query and what became
# of it (log-queries=extra: forwarded, reply, config). shopfwd forwards everything to the ISP from
# its own address (a customer's); forger answers every name of the probe zone with a forged address.
dnsmasq_start() {
  local name=$1 args=(--keep-in-foreground --conf-file=/dev/null --port=53 --user=root --pid-file=
    --bind-interfaces --no-resolv --no-hosts --cache-size=0 --log-queries=extra
    --log-facility="$(resolver_log "$1")")
  case $name in
    shopfwd) args+=(--listen-address=$SHOPFWD_RESOLVER --listen-address=$SHOPFWD_RESOLVER6
                    "--server=$ISP_RESOLVER@$SHOPFWD_RESOLVER") ;;
    forger) args+=(--listen-address=$FORGER_RESOLVER --listen-address=$FORGER_RESOLVER6
                   "--address=/$PROBE_ZONE/$FORGED_ANSWER") ;;
  esac
  start_bg "dnsmasq-$name" "${RESOLVER_NS[$name]}" dnsmasq "${args[@]}"
}

resolver_listening() {  # resolver_listening NAME: its UDP socket on port 53 is bound
  grep -q "${RESOLVER_ADDR[$1]}:53" <<<"$(nsx "${RESOLVER_NS[$1]}" ss -Hlun "sport = :53")"
}

resolver_stop() { case $1 in shopfwd | forger) stop_bg "dnsmasq-$1" ;; *) stop_bg "unbound-$1" ;; esac; }

resolvers_up() {
  local r
  mkdir -p "$LAB_EVIDENCE/resolvers"
  for r in "${ALL_RESOLVERS[@]}"; do
    : >"$(resolver_log "$r")"
    # dnsfence serve needs the tunnel address: serve_start, after vpn_up.
    case $r in serve*) continue ;; esac
    resolver_start "$r"
  done
  for r in "${ALL_RESOLVERS[@]}"; do
    case $r in serve*) continue ;; esac
    wait_until 5 resolver_listening "$r" ||
      die "resolver $r did not start: $(cat "$LAB_STATE/out/unbound-$r.out" "$LAB_STATE/out/dnsmasq-$r.out" 2>/dev/null)"
  done
}
