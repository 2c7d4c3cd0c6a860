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
    || die "the tunnel does not carry DNS to the serve stand-in"
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
    tproxy) protect_server_tproxy || { SKIP_REASON="tproxy stand-in unavailable (no C compiler)"; return 1; } ;;
  esac
  return 0
}

# begin: starts the evidence of one case (log marks + capture of DNS outside the tunnel).
begin() {
  case_begin "$LAB_EVIDENCE/runs/$SCEN_NAME/$MODE"
  echo "$LEASE" >"$CASE_DIR/lease.txt"
  capture_start client-eth0 $NS_CLIENT eth0 "port 53" $NS_CLIENT $LAN_GW
}

# finish [RESOLVER...]: barrier on the untrusted resolvers (and extra ones), stops the capture,
# counts what each untrusted resolver saw of PROBES. Sets SEEN, LEAKS, OUTSIDE, WITNESS.
finish() {
  local r c
  log_barrier "${UNTRUSTED_RESOLVERS[@]}" provider "$@" || FAILS+=("$MODE: log barrier")
  capture_stop client-eth0
  SEEN="" LEAKS=0
  for r in "${UNTRUSTED_RESOLVERS[@]}"; do
    c=$(seen_count "$r" "${PROBES[@]}")
    SEEN+="$r=$c "
    LEAKS=$((LEAKS + c))
  done
  SEEN=${SEEN% }
  OUTSIDE=$(grep -c "\.53: " "$CASE_DIR/client-eth0.txt" 2>/dev/null || true)
  WITNESS=$(seen_sources auth "${PROBES[@]}")
  keep_logs
}

# summary: the per-mode part of the RESULT line.
summary() {
  local s
  s="$MODE: leak=$([ "$LEAKS" -gt 0 ] && echo yes || echo no) probe-queries-at-untrusted[$SEEN] dns-outside-tunnel=$OUTSIDE"
  s+=" lookup=$([ "$LOOKUP_RC" = 0 ] && echo ok || echo "fail($LOOKUP_RC)") latency=${LOOKUP_MS}ms"
  [ -n "${EXTRA:-}" ] && s+=" $EXTRA"
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

# probe_std [ZONE]: one glibc lookup and one kdig to the client's first resolver.
probe_std() {
  local zone=${1:-$PROBE_ZONE} first
  first=$(awk '/^nameserver/ {print $2; exit}' /etc/netns/$NS_CLIENT/resolv.conf)
  PROBES=("$(probe_name "s$SCEN_NUM-${MODE:0:1}" "$zone")" "$(probe_name "s$SCEN_NUM-${MODE:0:1}k" "$zone")")
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
