# shellcheck shell=bash
# The machinery every scenario uses: one case = prepare (the same starting state) -> apply_mode
# (the protection of MODE) -> begin (log marks, capture) -> probes -> finish (barriers, counts) ->
# assertions (check) -> summary; and scenario_run, which runs a scenario's modes and prints the
# RESULT line. The scenarios themselves are in scenarios.sh.

scenario_list() { printf '%s\n' "${SCENARIOS[@]}"; }

scenario_lookup() {  # scenario_lookup NUMBER|NAME: prints "NUMBER NAME"
  local s
  for s in "${SCENARIOS[@]}"; do
    read -r n name _ <<<"$s"
    if [ "$1" = "$n" ] || [ "$1" = "$name" ]; then echo "$n $name"; return 0; fi
  done
  return 1
}

FAILS=()
check() {  # check DESCRIPTION CMD...: records a failed assertion (does not stop the scenario)
  local what=$1; shift
  if "$@"; then :; else FAILS+=("$MODE: $what"); log "FAIL $SCEN_NAME/$MODE: $what"; fi
}
le() { [ "$1" -le "$2" ]; }
ge() { [ "$1" -ge "$2" ]; }
eq() { [ "$1" = "$2" ]; }
ne() { [ "$1" != "$2" ]; }

# prepare DHCP_RESOLVERS [hotel] [slow] [rogue]: the common starting state of every case.
prepare() {
  unprotect
  FW_USED="" FW_SUMMARY=""
  rogue_dhcp_stop
  ip -n $NS_CLIENT route del $ISP_SPLIT_PREFIX 2>/dev/null || true
  serve_start
  local resolvers=$1 rogue=no opt dhcp_opts=()
  shift
  for opt in "$@"; do [ "$opt" = rogue ] && rogue=yes || dhcp_opts+=("$opt"); done
  shop_dhcp_start "$resolvers" "${dhcp_opts[@]}"
  [ $rogue = yes ] && rogue_dhcp_start
  local before; before=$(cat "$LAB_STATE/lease" 2>/dev/null || true)
  LEASE=$(client_dhcp)
  # The tunnel must carry traffic from the (possibly new) address before the case starts.
  [ "${before%% *}" = "${LEASE%% *}" ] || vpn_roam
  wait_until 12 nsx $NS_CLIENT kdig @$TUN_SERVER "$(probe_name health)" +timeout=1 +retry=0 \
    || die "the tunnel does not carry DNS to dnsfence serve"
}

# apply_mode: the protection of the current MODE.
apply_mode() {
  case $MODE in
    unprotected) ;;
    server-only) protect_server_redirect ;;
    protected) protect_server_redirect; [ "${CLIENT_GUARD:-no}" = yes ] && protect_client_guard ;;
    redirect) protect_server_redirect ;;
    block) protect_server_block ;;
    ipv4-only) protect_server_redirect ipv4-only ;;
    tproxy) protect_server_tproxy ;;
  esac
  return 0
}

# begin: starts the evidence of one case (log marks + capture of DNS outside the tunnel).
begin() {
  LT_DONE=no LT_OVERALL=- LT_VERDICTS=- LT_PUBLIC_VERDICT=- LT_FALSE="" LT_TRUE=""
  WITNESS_RUN="" WITNESS_RUN_ZONE=""
  case_begin "$LAB_EVIDENCE/runs/$SCEN_NAME/$MODE"
  echo "$LEASE" >"$CASE_DIR/lease.txt"
  capture_start client-eth0 $NS_CLIENT eth0 "port 53" $NS_CLIENT $LAN_GW
}

# finish [RESOLVER...]: barrier on the untrusted resolvers (and extra ones), stops the capture,
# counts what each untrusted resolver saw of PROBES. Sets SEEN, LEAKS, OUTSIDE, WITNESS (the
# resolver addresses the witness saw asking for PROBES: the lab's own run).
finish() {
  local r c
  [ $LT_DONE = yes ] || leaktest_run
  log_barrier "${UNTRUSTED_RESOLVERS[@]}" provider "$@" || FAILS+=("$MODE: log barrier")
  capture_stop client-eth0
  fw_evidence
  SEEN="" LEAKS=0
  for r in "${UNTRUSTED_RESOLVERS[@]}"; do
    c=$(seen_count "$r" "${PROBES[@]}")
    SEEN+="$r=$c "
    LEAKS=$((LEAKS + c))
  done
  SEEN=${SEEN% }
  OUTSIDE=$(grep -c "\.53: " "$CASE_DIR/client-eth0.txt" 2>/dev/null || true)
  WITNESS=""
  if [ -n "$WITNESS_RUN" ]; then
    WITNESS=$(witness_sources "$WITNESS_RUN_ZONE" "$WITNESS_RUN" "${PROBES[@]}")
    witness_results "$WITNESS_RUN_ZONE" "$WITNESS_RUN" >"$CASE_DIR/witness.json" 2>/dev/null || true
  fi
  leaktest_judge
  keep_logs
}

# --- dnsfence leaktest: what it says, checked against what the resolvers' logs say happened ----
# leaktest runs with --witness (the lab's dnsfence witness for LT_ZONE, reached through the
# tunnel): its probe names are witness tokens, and the witness's record tells it who really asked
# the authority. That is what separates a Type 2 leak from a query the VPN server intercepted (the
# client sees the same packets either way: conntrack rewrites the reply's source), gives it the
# authority's data to call a forged answer TAMPERED, and INTERCEPTED for --public. The lab still
# checks each LEAK-TYPE2 / STEALTH / INTERCEPTED claim against the resolvers' own logs.
LT_PUBLIC=$ATTACKER_RESOLVER   # a third-party resolver the user does not use (--public)
LT_ZONE=$PROBE_ZONE
LT_TRUSTED=()

# leaktest_run: one run inside dfl-client; JSON, HTML and its pcap go to the case's evidence.
# Sets LT_RC, LT_OVERALL, LT_VERDICTS (distinct verdicts of every finding but the --public one,
# worst first), LT_PUBLIC_VERDICT.
leaktest_run() {
  local args=(leaktest --json --tunnel "$WG_CLIENT_IF" --vpn-resolver "$PROVIDER_RESOLVER"
    --vpn-resolver "$TUN_SERVER" --resolver "$TUN_SERVER" --witness "$(witness_api "$LT_ZONE")" --zone "$LT_ZONE" --public "$LT_PUBLIC" --timeout 1000
    --system-timeout 3000 --html "$CASE_DIR/leaktest.html" --pcap "$CASE_DIR/leaktest.pcap") t
  for t in "${LT_TRUSTED[@]}"; do args+=(--trusted "$t"); done
  LT_DONE=yes
  nsx $NS_CLIENT timeout 20 "$DNSFENCE" "${args[@]}" >"$CASE_DIR/leaktest.json" 2>"$CASE_DIR/leaktest.err" \
    && LT_RC=0 || LT_RC=$?
  LT_OVERALL=$(jq -r '.overall // "-"' "$CASE_DIR/leaktest.json" 2>/dev/null) || LT_OVERALL=ERROR
  LT_VERDICTS=$(jq -r --arg pub "$LT_PUBLIC" '
    ["TAMPERED","STEALTH","LEAK-TYPE2","LEAK-TYPE1","INCONCLUSIVE","UNPROTECTED","INTERCEPTED","OK"] as $order
    | [.findings[] | select(.resolver != $pub) | .verdict] | unique
    | sort_by(. as $v | $order | index($v)) | join(",")' "$CASE_DIR/leaktest.json" 2>/dev/null) || LT_VERDICTS=ERROR
  LT_PUBLIC_VERDICT=$(jq -r --arg pub "$LT_PUBLIC" '[.findings[] | select(.resolver == $pub) | .verdict]
    | unique | join(",") | if . == "" then "-" else . end' "$CASE_DIR/leaktest.json" 2>/dev/null) || LT_PUBLIC_VERDICT=ERROR
  log "leaktest $SCEN_NAME/$MODE: overall=$LT_OVERALL verdicts=$LT_VERDICTS public=$LT_PUBLIC_VERDICT (exit $LT_RC)"
}

# lt_resolver_name ADDR: the lab's name of the resolver at ADDR ("" if none).
lt_resolver_name() {
  local r
  case $1 in "$LAN_GW" | "$SHOP_RESOLVER6") echo shop; return ;; esac
  for r in "${!RESOLVER_ADDR[@]}"; do [ "${RESOLVER_ADDR[$r]}" = "$1" ] && { echo "$r"; return; }; done
  echo ""
}

# leaktest_judge (after the log barrier): every LEAK-TYPE2 / STEALTH finding is true if the
# resolver it names logged one of that finding's probe names, false otherwise; every INTERCEPTED
# finding is true if that resolver logged none of them and dnsfence serve (either mode) logged
# one. Sets LT_TRUE and LT_FALSE ("ADDR:VERDICT ...").
leaktest_judge() {
  local addr verdict names r n
  LT_TRUE="" LT_FALSE=""
  [ -s "$CASE_DIR/leaktest.json" ] || return 0
  while read -r addr verdict names; do
    r=$(lt_resolver_name "$addr")
    if [ -z "$r" ] || [ -z "$names" ]; then continue; fi
    # shellcheck disable=SC2086
    n=$(seen_count "$r" $names)
    if [ "$verdict" = INTERCEPTED ]; then
      # shellcheck disable=SC2086
      if [ "$n" -eq 0 ] && [ $(($(seen_count serve $names) + $(seen_count serve-tproxy $names))) -gt 0 ]; then
        LT_TRUE+="$addr:$verdict "
      else LT_FALSE+="$addr:$verdict "; fi
    elif [ "$n" -gt 0 ]; then LT_TRUE+="$addr:$verdict "; else LT_FALSE+="$addr:$verdict "; fi
  done < <(jq -r '.findings[] | select(.verdict == "LEAK-TYPE2" or .verdict == "STEALTH" or .verdict == "INTERCEPTED")
    | "\(.resolver) \(.verdict) \(.probes | join(" "))"' "$CASE_DIR/leaktest.json")
  LT_TRUE=${LT_TRUE% } LT_FALSE=${LT_FALSE% }
}

# lt_has ADDR VERDICT: leaktest reported VERDICT for the resolver ADDR.
lt_has() {
  jq -e --arg a "$1" --arg v "$2" 'any(.findings[]; .resolver == $a and .verdict == $v)' \
    "$CASE_DIR/leaktest.json" >/dev/null 2>&1
}
# lt_true ADDR VERDICT: ... and the resolver's log confirms it.
lt_true() { grep -qw -- "$1:$2" <<<"$LT_TRUE"; }

# expect_leaktest_leak ADDR VERDICT...: unprotected: leaktest names ADDR with each VERDICT, and
# (for Type 2 and Stealth) the resolver's log confirms it saw leaktest's probes.
expect_leaktest_leak() {
  local addr=$1 v; shift
  for v in "$@"; do
    check "leaktest: $addr is $v (leaktest said $LT_VERDICTS)" lt_has "$addr" "$v"
    case $v in LEAK-TYPE2 | STEALTH) check "leaktest's $v for $addr is true (its log has the probes)" lt_true "$addr" "$v" ;; esac
  done
  # No server rule at all: the VPN lets leaktest's query to the third party through, and it
  # answers itself. A warning about the VPN (UNPROTECTED), never "OK".
  if [ "$MODE" = unprotected ]; then
    check "leaktest: the third-party resolver is UNPROTECTED ($LT_PUBLIC_VERDICT)" eq "$LT_PUBLIC_VERDICT" UNPROTECTED
  fi
  expect_leaktest_claims_true
}

# expect_leaktest_claims_true: every claim the logs can check (LEAK-TYPE2, STEALTH, INTERCEPTED)
# is true; a false INTERCEPTED would call a leak protected.
expect_leaktest_claims_true() {
  check "leaktest: no claim the logs refute (${LT_FALSE:-none})" eq "$LT_FALSE" ""
}

# expect_leaktest_protected [ADDR...]: the issue's promise, with the witness: leaktest says OK or
# INTERCEPTED, never a leak (no LEAK-TYPE1, LEAK-TYPE2, STEALTH or TAMPERED, not even one the logs
# refute), and each ADDR (the resolvers the system is configured with) is INTERCEPTED, truly (its
# log has none of the probes, dnsfence serve's has them). The --public resolver is INTERCEPTED or
# OK (blocked, or an allowlisted one that answered itself), or exactly LT_PUBLIC_EXPECT when set.
expect_leaktest_protected() {
  local a others
  check "leaktest ran ($LT_OVERALL)" ne "$LT_OVERALL" ERROR
  check "leaktest: no leak verdict at all ($LT_VERDICTS)" \
    bash -c "! grep -qE 'LEAK-TYPE1|LEAK-TYPE2|STEALTH|TAMPERED' <<<'$LT_VERDICTS'"
  others=$(jq -r --arg pub "$LT_PUBLIC" '[.findings[] | select(.resolver != $pub)
    | select(.verdict != "OK" and .verdict != "INTERCEPTED") | "\(.resolver):\(.verdict)"] | sort | join(" ")' \
    "$CASE_DIR/leaktest.json" 2>/dev/null) || others=ERROR
  check "leaktest: OK or INTERCEPTED only (else: ${others:-none})" eq "$others" ""
  for a in "$@"; do
    check "leaktest: $a is INTERCEPTED (leaktest said $LT_VERDICTS)" lt_has "$a" INTERCEPTED
    check "leaktest's INTERCEPTED for $a is true (not in its log, in dnsfence serve's)" lt_true "$a" INTERCEPTED
  done
  local pub=${LT_PUBLIC_EXPECT:-INTERCEPTED|OK}
  check "leaktest: the third-party resolver is $pub ($LT_PUBLIC_VERDICT)" \
    bash -c "grep -qxE '$pub' <<<'$LT_PUBLIC_VERDICT'"
  expect_leaktest_claims_true
}

# summary: the per-mode part of the RESULT line.
summary() {
  local s
  s="$MODE: leak=$([ "$LEAKS" -gt 0 ] && echo yes || echo no) probe-queries-at-untrusted[$SEEN] dns-outside-tunnel=$OUTSIDE"
  s+=" lookup=$([ "$LOOKUP_RC" = 0 ] && echo ok || echo "fail($LOOKUP_RC)") latency=${LOOKUP_MS}ms"
  [ -n "${EXTRA:-}" ] && s+=" $EXTRA"
  [ -n "${FW_SUMMARY:-}" ] && s+=" firewall=${FW_SUMMARY// /;}"
  s+=" leaktest=$LT_VERDICTS leaktest-public=$LT_PUBLIC_VERDICT"
  [ -n "$LT_FALSE" ] && s+=" leaktest-false=${LT_FALSE// /,}"
  PARTS+=("$s")
  printf '%s\n' "$s" >"$CASE_DIR/result.txt"
  EXTRA=""
}

# Assertions shared by most scenarios.
expect_leak() {  # expect_leak RESOLVER: the unprotected run leaked to RESOLVER
  check "$1 saw the probes" ge "$(seen_count "$1" "${PROBES[@]}")" 1
}
expect_protected() {  # no untrusted resolver saw a probe; the lookup succeeded without fallback
  check "no probe at any untrusted resolver ($SEEN)" eq "$LEAKS" 0
  check "no DNS outside the tunnel" eq "$OUTSIDE" 0
  check "lookup succeeded" eq "$LOOKUP_RC" 0
  check "latency ${LOOKUP_MS} ms <= $LATENCY_LIMIT_MS ms (no fallback)" le "$LOOKUP_MS" $LATENCY_LIMIT_MS
  check "answer is the authority's ($LOOKUP_ADDR)" eq "$LOOKUP_ADDR" "$PROBE_ANSWER"
  # Positive control: the probes were sent, and resolved on the trusted path.
  check "the provider's resolver saw the probes" ge "$(seen_count provider "${PROBES[@]}")" 1
}

# probe_std [ZONE]: one glibc lookup and one kdig to the client's first resolver, both for names
# of a new witness run (the witness answers only its tokens).
probe_std() {
  local zone=${1:-$PROBE_ZONE} first
  first=$(awk '/^nameserver/ {print $2; exit}' /etc/netns/$NS_CLIENT/resolv.conf)
  witness_new_run "$zone"
  PROBES=("${WITNESS_PROBES[0]}" "${WITNESS_PROBES[1]}")
  lookup "${PROBES[0]}"
  kdig_lookup "$first" "${PROBES[1]}"
}

# scenario_run NUMBER|NAME [--protected|--unprotected]
scenario_run() {
  local entry modes t0 t_case
  entry=$(scenario_lookup "$1") || { log "unknown scenario $1 (lab/lab list)"; exit 2; }
  read -r SCEN_NUM SCEN_NAME <<<"$entry"
  case "${2:-}" in
    --protected) modes=(protected) ;;
    --unprotected) modes=(unprotected) ;;
    "") modes=(unprotected protected)
        case $SCEN_NUM in
          6 | 8) modes=(unprotected server-only protected) ;;
          7) modes=(unprotected ipv4-only protected) ;;
          12) modes=(unprotected redirect tproxy block) ;;
        esac ;;
    *) usage ;;
  esac
  FAILS=() PARTS=() SKIP_REASON=""
  t0=$(now_ms)
  lab_configs
  # Whatever happens, leave the lab in its base state for the next run.
  trap 'unprotect; rogue_dhcp_stop; ip -n $NS_CLIENT route del $ISP_SPLIT_PREFIX 2>/dev/null || true; serve_start' EXIT
  for MODE in "${modes[@]}"; do
    t_case=$(now_ms)
    "sc_$SCEN_NUM"
    [ -n "$SKIP_REASON" ] && break
    log "$SCEN_NAME/$MODE done in $(($(now_ms) - t_case)) ms"
  done
  local wall=$(($(now_ms) - t0)) verdict=PASS rc=0
  if [ -n "$SKIP_REASON" ]; then verdict="SKIPPED ($SKIP_REASON)"; rc=77; fi
  if [ ${#FAILS[@]} -gt 0 ]; then verdict="FAIL: $(printf '%s; ' "${FAILS[@]}")"; rc=1; fi
  local line; line="RESULT e2e.$SCEN_NAME | $(printf '%s | ' "${PARTS[@]}")$verdict [${wall} ms]"
  echo "$line"
  mkdir -p "$LAB_EVIDENCE/runs/$SCEN_NAME"
  echo "$line" >"$LAB_EVIDENCE/runs/$SCEN_NAME/RESULT"
  # A failure's evidence survives later runs of the same scenario.
  [ $rc -eq 1 ] && cp -a "$LAB_EVIDENCE/runs/$SCEN_NAME" "$LAB_EVIDENCE/runs/$SCEN_NAME.failed-$(date +%Y%m%dT%H%M%S)"
  return $rc
}
