# shellcheck shell=bash
# The paper's scenarios, sc_<number>, one function per scenario, called once per MODE by
# scenario_run (case.sh): unprotected, then protected; 6 and 8 also "server-only" (only the
# client-side guard stops a Type 1 leak), 7 "ipv4-only", 12 "redirect", "tproxy" and "block".

SCENARIOS=(
  "1 coffee_shop_marketing    DHCP pushes the shop's public resolver; its log collects the lookups (Type 2)"
  "2 coffee_shop_sensitive    the same path; the shop's log shows the sensitive names"
  "3 rogue_dhcp_stalking      a rogue DHCP server answers first and pushes the attacker's resolver"
  "4 hotel_unique_resolver    each guest gets a unique resolver address"
  "5 isp_stealth_resolver     the ISP's Stealth resolver logs and never answers; the client falls back"
  "6 type1_lan_route          the LAN resolver's more specific route sends DNS outside the tunnel"
  "7 ipv6                     the shop's resolver over IPv6 through the tunnel; IPv4-only rules miss it"
  "8 split_tunnel             an excluded prefix contains the ISP's resolver"
  "9 doh_canary_ddr           DoH canary use-application-dns.net and DDR _dns.resolver.arpa"
  "10 allowlisted_resolver    a resolver the user chose stays reachable; others are redirected"
  "11 proxy_killed_fail_closed the proxy is killed mid-run: DNS fails closed, nothing leaks"
  "12 interception_modes      both interception modes on the server, redirect (DNAT) and tproxy; and block"
  "13 poisoning               the shop's resolver forges answers"
)
LATENCY_LIMIT_MS=800   # glibc's fallback costs >= 1000 ms (timeout:1)

sc_shop_type2() {  # scenarios 1 and 2: the shop's public resolver through the tunnel
  local zone=$1
  prepare "$SHOP_RESOLVER"
  apply_mode
  begin
  probe_std "$zone"
  finish
  local src; src=$(seen_sources shop "${PROBES[@]}")
  EXTRA="shop-saw-from=${src:--}"
  if [ $MODE = unprotected ]; then
    expect_leak shop
    check "Type 2: the shop saw the VPN's address ($src)" eq "$src" "$VPN_WAN"
    check "lookup succeeded" eq "$LOOKUP_RC" 0
    expect_leaktest_leak "$SHOP_RESOLVER" LEAK-TYPE2
  else
    expect_protected
    expect_leaktest_protected "$SHOP_RESOLVER"
  fi
  summary
}
sc_1() { sc_shop_type2 "$PROBE_ZONE"; }
sc_2() {
  sc_shop_type2 "dissident-news.$PROBE_ZONE"
  if [ $MODE = unprotected ]; then
    check "the shop's log shows the sensitive name" grep -q "dissident-news" "$CASE_DIR/shop.log"
  fi
}

sc_3() {
  LT_PUBLIC=$PUBLIC_RESOLVER   # the attacker's resolver is the configured one here
  prepare "$SHOP_RESOLVER" slow rogue
  check "the rogue server answered first (lease: $LEASE)" grep -q "dns=\"$ATTACKER_RESOLVER\"" <<<"$LEASE"
  apply_mode
  begin
  probe_std
  finish
  if [ $MODE = unprotected ]; then
    expect_leak attacker; expect_leaktest_leak "$ATTACKER_RESOLVER" LEAK-TYPE2
  else
    # The third party here is the allowlisted 198.51.100.53: the VPN lets DNS to it through, and
    # it answers itself. One --public resolver cannot tell an allowlist from no protection, so
    # leaktest warns (UNPROTECTED), truthfully: DNS to that resolver is not intercepted.
    expect_protected; LT_PUBLIC_EXPECT=UNPROTECTED expect_leaktest_protected "$ATTACKER_RESOLVER"
  fi
  summary
}

sc_4() {
  prepare "$SHOP_RESOLVER" hotel
  check "the guest got its own resolver (lease: $LEASE)" grep -q "dns=\"$HOTEL_GUEST_RESOLVER\"" <<<"$LEASE"
  apply_mode
  begin
  probe_std
  finish
  if [ $MODE = unprotected ]; then
    expect_leak hotel; expect_leaktest_leak "$HOTEL_GUEST_RESOLVER" LEAK-TYPE2
  else
    expect_protected; expect_leaktest_protected "$HOTEL_GUEST_RESOLVER"
  fi
  summary
}

sc_5() {
  prepare "$ISP_RESOLVER,$SHOP_RESOLVER"
  apply_mode
  begin
  capture_start isp $NS_ISP eth0 "port 53" $NS_INET $ISP_RESOLVER
  probe_std
  finish
  capture_stop isp
  local q a
  q=$(grep -c "$VPN_WAN\.[0-9]* > $ISP_RESOLVER\.53:" "$CASE_DIR/isp.txt" || true)
  # Answers: UDP datagrams or TCP segments with data (a handshake's "length 0" is none).
  a=$(grep "$ISP_RESOLVER\.53 > $VPN_WAN\." "$CASE_DIR/isp.txt" | grep -vc "length 0\$" || true)
  EXTRA="isp-queries-in=$q isp-answers-out=$a witness-saw=${WITNESS:--}"
  if [ $MODE = unprotected ]; then
    expect_leak isp
    check "the ISP never answered the VPN's address" eq "$a" 0
    check "the client fell back (latency ${LOOKUP_MS} ms >= 1000)" ge "$LOOKUP_MS" 1000
    check "lookup succeeded via the fallback" eq "$LOOKUP_RC" 0
    check "the witness saw only the fallback, not the Stealth ISP ($WITNESS)" \
      bash -c "[ -n '$WITNESS' ] && ! grep -q '$ISP_RESOLVER' <<<'$WITNESS'"
    expect_leaktest_leak "$ISP_RESOLVER" LEAK-TYPE2 STEALTH
    expect_leaktest_leak "$SHOP_RESOLVER" LEAK-TYPE2
  else
    expect_protected
    check "no query reached the ISP" eq "$q" 0
    expect_leaktest_protected "$ISP_RESOLVER" "$SHOP_RESOLVER"
  fi
  summary
}

sc_type1() {  # scenarios 6 and 8
  prepare "$1"
  # A VPN client adds the VPN's resolver to the one DHCP pushed (in every mode): DHCP's first, the
  # order in which every lookup meets the client guard first; the guard rejects it at once and
  # glibc moves on to the VPN's resolver without its timeout.
  client_set_resolvers "$1" "$PROVIDER_RESOLVER"
  [ -n "${2:-}" ] && ip -n $NS_CLIENT route add "$2" via $LAN_GW dev eth0
  apply_mode
  begin
  probe_std
  finish
  local victim=$3 src
  src=$(seen_sources "$victim" "${PROBES[@]}")
  EXTRA="$victim-saw-from=${src:--}"
  if [ $MODE = protected ]; then
    expect_protected
    check "the client guard rejected DNS outside the tunnel ($(fw_packets $NS_CLIENT '^leak-') packets)" \
      ge "$(fw_packets $NS_CLIENT '^leak-')" 1
    # The client guard rejects leaktest's direct probes to $1 and to the --public resolver on this
    # machine (output hook; udp "Operation not permitted", tcp "Connection refused"), before any
    # packet leaves: leaktest must call both OK (refused here), not untested.
    check "leaktest: $1 is OK, refused on this machine ($LT_VERDICTS)" lt_has "$1" OK
    LT_PUBLIC_EXPECT=OK expect_leaktest_protected
  else
    expect_leak "$victim"
    check "DNS left outside the tunnel ($OUTSIDE packets)" ge "$OUTSIDE" 1
    check "Type 1: $victim saw a non-VPN address ($src)" ne "$src" "$VPN_WAN"
    expect_leaktest_leak "$1" LEAK-TYPE1
  fi
  ip -n $NS_CLIENT route del "${2:-none}" 2>/dev/null || true
  summary
}
sc_6() { CLIENT_GUARD=yes sc_type1 "$LAN_GW" "" shop; }
sc_8() { CLIENT_GUARD=yes sc_type1 "$ISP_RESOLVER" "$ISP_SPLIT_PREFIX" isp; }

sc_9() {
  prepare "$SHOP_RESOLVER"
  apply_mode
  begin
  probe_std
  kdig_lookup "$SHOP_RESOLVER" use-application-dns.net A
  local canary=$KDIG_RCODE canary_answer=$KDIG_ANSWER
  kdig_lookup "$SHOP_RESOLVER" _dns.resolver.arpa SVCB
  local ddr=$KDIG_RCODE ddr_answer=$KDIG_ANSWER
  finish
  local shop_canary; shop_canary=$(seen_count shop use-application-dns.net _dns.resolver.arpa)
  EXTRA="canary=$canary${canary_answer:+($canary_answer)} ddr=$ddr${ddr_answer:+(answer)} shop-saw-canary/ddr=$shop_canary"
  if [ $MODE = unprotected ]; then
    expect_leak shop
    check "the canary resolves (automatic DoH stays on)" eq "$canary" NOERROR
    check "DDR designates the shop's DoH server" ne "$ddr_answer" ""
    expect_leaktest_leak "$SHOP_RESOLVER" LEAK-TYPE2
  else
    expect_protected
    expect_leaktest_protected "$SHOP_RESOLVER"
    check "the canary is NXDOMAIN" eq "$canary" NXDOMAIN
    check "DDR has no designation" eq "$ddr_answer" ""
    check "the shop saw neither canary nor DDR" eq "$shop_canary" 0
  fi
  summary
}

sc_10() {
  LT_TRUSTED=("$PUBLIC_RESOLVER")   # the user's choice: --trusted
  prepare "$SHOP_RESOLVER"
  client_set_resolvers "$PUBLIC_RESOLVER"   # the user's own choice, overriding DHCP
  apply_mode
  begin
  witness_new_run
  PROBES=("${WITNESS_PROBES[0]}" "${WITNESS_PROBES[1]}")
  lookup "${PROBES[0]}"                       # to the allowlisted resolver
  kdig_lookup "$SHOP_RESOLVER" "${PROBES[1]}"  # to one that is not
  finish public serve
  local pub; pub=$(seen_count public "${PROBES[0]}")
  EXTRA="public-saw=$pub serve-intercepted=$(seen_count serve "${PROBES[@]}")"
  check "the allowlisted resolver answered the user's lookup" ge "$pub" 1
  # The system uses only the trusted resolver: leaktest has nothing to blame in either mode (the
  # shop's query is an explicit kdig, not something the system's configuration sends).
  check "leaktest: the trusted resolver is OK" lt_has "$PUBLIC_RESOLVER" OK
  # Unprotected, the VPN lets leaktest's query to the third party through: a warning, UNPROTECTED.
  if [ $MODE = unprotected ]; then LT_PUBLIC_EXPECT=UNPROTECTED expect_leaktest_protected; else expect_leaktest_protected; fi
  if [ $MODE = unprotected ]; then
    expect_leak shop
  else
    expect_protected
    check "the allowlisted lookup was not intercepted" eq "$(seen_count serve "${PROBES[0]}")" 0
    check "the other resolver's query was" ge "$(seen_count serve "${PROBES[1]}")" 1
  fi
  summary
}

# stream_count STATUS_REGEX [FROM_LINE]: answered lines of the lookup stream, from a line on.
stream_count() { tail -n +"${2:-1}" "$CASE_DIR/stream.txt" 2>/dev/null | grep -cE " ($1)\$" || true; }
stream_lines() { grep -c . "$CASE_DIR/stream.txt" 2>/dev/null || true; }

sc_11() {
  local n=30 base
  prepare "$SHOP_RESOLVER"
  protect_server_redirect   # both modes start protected; they differ in what the kill leaves
  begin
  witness_new_run
  PROBES=("${WITNESS_PROBES[@]:0:$n}")
  # A stream of lookups from the client, one every 50 ms, each name unique (the run's first $n
  # probe names), to the shop's resolver (the DHCP-pushed one); the proxy is killed while it runs,
  # then restarted.
  start_bg stream $NS_CLIENT bash -c "i=0; for q in ${PROBES[*]}; do i=\$((i + 1))
      s=\$(kdig @$SHOP_RESOLVER \$q A +timeout=1 +retry=0 2>&1 | sed -nE 's/.*status: ([A-Z]+).*/\\1/p')
      echo \"\$i \${s:-FAILED}\"; sleep 0.05; done >$CASE_DIR/stream.txt"
  wait_until 10 bash -c "[ \$(grep -c NOERROR $CASE_DIR/stream.txt) -ge 5 ]" || FAILS+=("$MODE: stream did not start")
  serve_stop                                # the proxy is killed mid-run
  # A fail-open deployment ties its rules to the proxy's life; dnsfence's firewall does not.
  [ $MODE = unprotected ] && fw_remove $NS_VPN
  local kill_line; kill_line=$(($(stream_lines) + 1))
  wait_until 10 bash -c "[ \$(grep -c . $CASE_DIR/stream.txt) -ge $((kill_line + 3)) ]" || FAILS+=("$MODE: stream stalled")
  local restart_line; restart_line=$(($(stream_lines) + 1))
  protect_server_redirect                   # the proxy (and, fail-open, its rules) come back
  wait_until 15 bash -c "[ \$(grep -c . $CASE_DIR/stream.txt) -ge $n ]" || FAILS+=("$MODE: stream did not finish")
  stop_bg stream
  local during_ok during_fail after_ok
  during_ok=$(sed -n "${kill_line},$((restart_line - 1))p" "$CASE_DIR/stream.txt" | grep -c NOERROR || true)
  during_fail=$(sed -n "${kill_line},$((restart_line - 1))p" "$CASE_DIR/stream.txt" | grep -vc NOERROR || true)
  after_ok=$(tail -n 5 "$CASE_DIR/stream.txt" | grep -c NOERROR || true)
  PROBES+=("${WITNESS_PROBES[$n]}")
  lookup "${PROBES[-1]}"                    # glibc after the restart
  finish
  EXTRA="stream=$n killed-at=#$kill_line restarted-at=#$restart_line answered-while-dead=$during_ok failed-while-dead=$during_fail last5-ok=$after_ok"
  if [ $MODE = unprotected ]; then
    EXTRA+=" (fail-open: rules removed with the proxy)"
    check "while the proxy was dead the shop got queries" ge "$(seen_count shop "${PROBES[@]}")" 1
    expect_leaktest_protected "$SHOP_RESOLVER"  # leaktest ran after the restart, with the rules back
  else
    expect_leaktest_protected "$SHOP_RESOLVER"
    check "while the proxy was dead DNS failed closed" eq "$during_ok" 0
    check "no probe at any untrusted resolver ($SEEN)" eq "$LEAKS" 0
    check "lookups work again after the restart" eq "$after_ok" 5
    check "glibc lookup after the restart" eq "$LOOKUP_RC" 0
  fi
  summary
}

sc_12() {  # modes: unprotected, redirect, tproxy, block
  prepare "$SHOP_RESOLVER"
  # As VPN clients do, the client lists the VPN's resolver after the one DHCP pushed (every mode):
  # the same client in all four modes, and in block mode lookups still work (at once: reject).
  client_set_resolvers "$SHOP_RESOLVER" "$PROVIDER_RESOLVER"
  apply_mode || return 0
  begin
  probe_std
  if [ $MODE = block ]; then
    # The paper's blocking remedy: the shop's resolver is unreachable (rejected at once, not a
    # silent drop), so glibc moves on to the VPN's resolver (allowlisted): no leak, and the lookup
    # succeeds without the fallback delay. The shop's query (kdig) is refused.
    local shop_rcode=$KDIG_RCODE
    kdig_lookup "$PUBLIC_RESOLVER" "${WITNESS_PROBES[2]}"
    local allowed=$KDIG_RCODE
    finish
    EXTRA="shop-kdig=$shop_rcode allowlisted-resolver=$allowed"
    expect_protected
    check "the server's guard rejected DNS to the shop ($(fw_packets $NS_VPN '^blocked-dns-') packets)" \
      ge "$(fw_packets $NS_VPN '^blocked-dns-')" 1
    check "the explicit query to the shop got no answer ($shop_rcode)" eq "$shop_rcode" TIMEOUT
    check "the allowlisted resolver still answers" eq "$allowed" NOERROR
    # Rejected (ICMP unreachable / TCP reset) inside the tunnel: blocked, neither a leak nor Stealth.
    expect_leaktest_protected
    check "leaktest: the shop's resolver is blocked (OK)" lt_has "$SHOP_RESOLVER" OK
    check "leaktest: the third-party resolver is blocked (OK)" eq "$LT_PUBLIC_VERDICT" OK
    summary
    return 0
  fi
  local relay_before=0 killed_shop=- killed_rc=-
  if [ $MODE = tproxy ]; then
    # dnsfence serve (tproxy) received the probes still addressed to the shop (a public
    # destination); kdig and glibc accepted its answers above, so they came from 203.0.113.53:53.
    leaktest_run   # before the proxy is killed below
    relay_before=$(log_slice serve-tproxy | grep -Eic "name=(${PROBES[0]//./\\.}|${PROBES[1]//./\\.})\. .*destination=public" || true)
    # Fail closed: with the transparent proxy gone, tproxy lets packets through; the firewall's
    # forward guard must still keep them from the shop (a query to it gets no answer, and its log
    # no probe: the leak count covers PROBES[2..3]). glibc moves on to the VPN's resolver.
    serve_tproxy_stop
    PROBES+=("${WITNESS_PROBES[2]}" "${WITNESS_PROBES[3]}")
    kdig_lookup "$SHOP_RESOLVER" "${PROBES[2]}"; killed_shop=$KDIG_RCODE
    local rc=$LOOKUP_RC ms=$LOOKUP_MS addr=$LOOKUP_ADDR
    lookup "${PROBES[3]}"; killed_rc=$LOOKUP_RC
    LOOKUP_RC=$rc LOOKUP_MS=$ms LOOKUP_ADDR=$addr   # the result line reports the first lookup
  fi
  finish
  EXTRA="shop-saw-from=$(seen_sources shop "${PROBES[@]}" | sed 's/^$/-/')"
  if [ $MODE = unprotected ]; then
    expect_leak shop
    expect_leaktest_leak "$SHOP_RESOLVER" LEAK-TYPE2
  else
    expect_protected
    expect_leaktest_protected "$SHOP_RESOLVER"
    if [ $MODE = tproxy ]; then
      EXTRA+=" serve-tproxy-answered-as-$SHOP_RESOLVER=$relay_before serve-killed-shop-kdig=$killed_shop"
      EXTRA+=" serve-killed-lookup=rc$killed_rc"
      check "dnsfence serve (tproxy) answered as the original resolver" ge "$relay_before" 2
      check "with dnsfence serve (tproxy) killed, DNS to the shop failed closed ($killed_shop)" eq "$killed_shop" TIMEOUT
      check "with dnsfence serve (tproxy) killed, glibc still resolves via the VPN's resolver" eq "$killed_rc" 0
    fi
  fi
  summary
}

sc_13() {
  # leaktest's probes are the bank.leak.test witness's names: the shop forges them, and the
  # witness's `answers` (192.0.2.80) tell leaktest the answer is forged: TAMPERED (with the Type 2
  # leak it is). The lab records what the shop answered leaktest (leaktest-answer=).
  LT_ZONE=bank.$PROBE_ZONE
  prepare "$SHOP_RESOLVER"
  apply_mode
  begin
  probe_std "bank.$PROBE_ZONE"
  finish
  local lt_answer
  lt_answer=$(jq -r '[.. | objects | .answers? // empty | .[]] | unique | join(",")' "$CASE_DIR/leaktest.json" 2>/dev/null)
  EXTRA="answer=$LOOKUP_ADDR poisoned=$([ "$LOOKUP_ADDR" = "$FORGED_ANSWER" ] && echo yes || echo no) leaktest-answer=${lt_answer:--}"
  if [ $MODE = unprotected ]; then
    expect_leak shop
    check "the client got the forged address" eq "$LOOKUP_ADDR" "$FORGED_ANSWER"
    expect_leaktest_leak "$SHOP_RESOLVER" TAMPERED LEAK-TYPE2
    check "leaktest was answered with the forged address too ($lt_answer)" grep -q "$FORGED_ANSWER" <<<"$lt_answer"
  else
    expect_protected
    expect_leaktest_protected "$SHOP_RESOLVER"
  fi
  summary
}

sc_7() {  # modes: unprotected, ipv4-only, protected
  prepare "$SHOP_RESOLVER"
  # The shop also announces its resolver's IPv6 address (as a router advertisement's RDNSS
  # would); the tunnel carries IPv6 too.
  client_set_resolvers "$SHOP_RESOLVER6" "$SHOP_RESOLVER"
  apply_mode
  begin
  probe_std
  finish
  local src; src=$(seen_sources shop "${PROBES[@]}")
  EXTRA="shop-saw-from=${src:--}"
  if [ $MODE = protected ]; then
    expect_protected
    check "IPv6 DNS redirected ($(fw_packets $NS_VPN '^redirected-v6-'))" ge "$(fw_packets $NS_VPN '^redirected-v6-')" 1
    expect_leaktest_protected "$SHOP_RESOLVER6" "$SHOP_RESOLVER"
  else
    expect_leak shop
    check "the shop saw the VPN's IPv6 address ($src)" eq "$src" "$VPN_WAN6"
    expect_leaktest_leak "$SHOP_RESOLVER6" LEAK-TYPE2
    if [ $MODE = ipv4-only ]; then  # the IPv4 rules do intercept the shop's IPv4 address
      check "ipv4-only: no IPv6 DNS redirected ($(fw_packets $NS_VPN '^redirected-v6-'))" eq "$(fw_packets $NS_VPN '^redirected-v6-')" 0
      check "ipv4-only: IPv4 DNS redirected ($(fw_packets $NS_VPN '^redirected-v4-'))" ge "$(fw_packets $NS_VPN '^redirected-v4-')" 1
      check "leaktest: $SHOP_RESOLVER is INTERCEPTED in ipv4-only" lt_has "$SHOP_RESOLVER" INTERCEPTED
      check "leaktest's INTERCEPTED for $SHOP_RESOLVER is true" lt_true "$SHOP_RESOLVER" INTERCEPTED
    fi
  fi
  summary
}

