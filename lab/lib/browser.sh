# shellcheck shell=bash
# The browser leak test in the lab (issue 16): headless Chromium in dfl-client, through the real
# VPN, opens the witness's page (http://192.0.2.80/, the address the witness answers at probe
# names) and its verdict is checked against the resolvers' own logs, as every lab case is.
#
#   case            client's resolvers         server           the page must say (and the logs confirm)
#   coffee_shop     203.0.113.53 (DHCP)        unprotected      LEAK-TYPE2 naming 203.0.113.53 (its log has the names)
#   stealth_isp     100.64.53.53, 203.0.113.53 unprotected      STEALTH by timing, not OK (the ISP logged the names and
#                   (DHCP, the ISP first)                        never reached the authority)
#   tproxy_report   100.64.53.53, 203.0.113.53 tproxy, serve    INTERCEPTED naming 100.64.53.53, reported by the VPN
#                                              reporting         server (neither resolver logged a name; serve did)
#   vpn_only        10.64.0.53                 redirect         OK (no untrusted resolver logged a name; the provider did)
#   tls             10.64.0.53                 redirect         OK, over HTTPS: the page at https://192.0.2.80/ behind
#                                                                a TLS-terminating proxy (stunnel) with a wildcard
#                                                                certificate for *.leak.test, probes over HTTPS too
# and two that calibrate the stealth threshold with the witness's own labels: `fallback` measures
# Chromium's fallback time with `noreply.` (the threshold must sit well below it), and
# `slow_authority` is coffee_shop with every name held 300 ms by the authority (`delay-300.`,
# the page's ?hold=300): the wait must show after the authority, and not read as a Stealth server.
# (Held 800 ms, unbound asks again after 376 ms, drops the late answer, and Chromium gives up at
# 1 s: a slower authority breaks lookups before it could look like a fallback.)
#
# Each case keeps page.png (a phone-sized screenshot), page.json (the page's result, its text,
# Chromium's console) and the resolvers' log slices in runs/browser_<case>/<mode>/.

BROWSER_URL="http://$PROBE_ANSWER/"
BROWSER_CASES=(fallback coffee_shop slow_authority stealth_isp tproxy_report vpn_only tls)
# Limits the issue sets: a verdict within 5 s when nothing times out, 12 s with a stealth resolver
# listed first (measured from navigation to the page's "done", Chromium's start excluded).
BROWSER_FAST_S=5 BROWSER_STEALTH_S=12

# browser_net_up: the address the witness answers at probe names, on the witness's namespace and
# routed from the "internet"; its port 80 forwarded to the leak.test witness's public listener
# (in production a TLS-terminating proxy does this: docs/page.md).
browser_net_up() {
  ip -n $NS_AUTH addr replace "$PROBE_ANSWER/32" dev eth0
  ip -n $NS_INET route replace "$PROBE_ANSWER/32" via $AUTH_ADDR dev to-auth
  nsx $NS_AUTH nft -f - <<NFT
table ip dfl_lab_page
delete table ip dfl_lab_page
table ip dfl_lab_page {
  chain pre { type nat hook prerouting priority dstnat; policy accept;
    ip daddr $PROBE_ANSWER tcp dport 80 dnat to $AUTH_ADDR:$WITNESS_API_PORT
  }
}
NFT
}
# browser_tls_up: stunnel in dfl-auth terminates TLS on 192.0.2.80:443 with a self-signed
# certificate for *.leak.test (and the page's address), forwarding to the witness's public
# listener: the deployment docs/page.md describes (Chromium is told to accept the certificate).
browser_tls_up() {
  local dir=$LAB_STATE/page-tls
  mkdir -p "$dir"
  [ -s "$dir/tls.pem" ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=$PROBE_ZONE" -addext "subjectAltName=DNS:*.$PROBE_ZONE,IP:$PROBE_ANSWER" \
    -keyout "$dir/tls.key" -out "$dir/tls.pem" >/dev/null 2>&1 || die "openssl could not make the test certificate"
  cat >"$dir/stunnel.conf" <<CONF
foreground = yes
pid =
[page]
accept = $PROBE_ANSWER:443
connect = $AUTH_ADDR:$WITNESS_API_PORT
cert = $dir/tls.pem
key = $dir/tls.key
CONF
  start_bg stunnel-page $NS_AUTH stunnel4 "$dir/stunnel.conf"
  wait_until 5 tls_listening || die "stunnel did not start: $(tail -5 "$LAB_STATE/out/stunnel-page.out")"
}
tls_listening() { grep -q . <<<"$(nsx $NS_AUTH ss -Hltn "sport = :443")"; }
browser_tls_down() { stop_bg stunnel-page; }

browser_net_down() {
  nsx $NS_AUTH nft delete table ip dfl_lab_page 2>/dev/null || true
  ip -n $NS_INET route del "$PROBE_ANSWER/32" 2>/dev/null || true
  ip -n $NS_AUTH addr del "$PROBE_ANSWER/32" dev eth0 2>/dev/null || true
}

# browser_fallback: calibrates the page's stealth threshold with the witness's `noreply.` label in
# the real Chromium: with two answering resolvers listed, a name the authority never answers is
# asked by the first resolver at once and by the second only after Chromium's fallback time, which
# the witness's first_seen of each shows. The page's threshold must sit well below it.
browser_fallback() {
  SCEN_NAME=browser_fallback MODE=unprotected
  prepare "$SHOP_RESOLVER"
  client_set_resolvers "$SHOP_RESOLVER" "$PUBLIC_RESOLVER"
  case_begin "$LAB_EVIDENCE/runs/$SCEN_NAME/$MODE"
  MODE=fallback/unprotected
  witness_new_run
  local name="noreply.${WITNESS_PROBES[0]}" first second fallback rc=0
  # A page of its own: one fetch of the noreply name, "done" when Chromium gives up on it.
  nsx $NS_CLIENT timeout 60 python3 "$LAB_DIR/lib/browser.py" \
    "data:text/html,<body><script>fetch('http://$name/probe').catch(()=>0).finally(()=>{document.body.dataset.state='done'})</script>" \
    --png "$CASE_DIR/page.png" --json "$CASE_DIR/page.json" --deadline 20 >"$CASE_DIR/browser.out" 2>&1 || rc=$?
  witness_results "$WITNESS_RUN_ZONE" "$WITNESS_RUN" >"$CASE_DIR/witness.json" || true
  seen_ms() { date -d "$(jq -r --arg a "$1" '.resolvers[] | select(.address == $a) | .first_seen' "$CASE_DIR/witness.json")" +%s%3N 2>/dev/null; }
  first=$(seen_ms "$SHOP_RESOLVER") second=$(seen_ms "$PUBLIC_RESOLVER")
  fallback=$(( ${second:-0} - ${first:-0} ))
  keep_logs
  EXTRA="chromium-fallback=${fallback}ms (the authority saw $SHOP_RESOLVER at ${first:-never}, $PUBLIC_RESOLVER at ${second:-never}; browser exit $rc)"
  check "both resolvers brought the noreply name to the authority" bash -c "[ -n '$first' ] && [ -n '$second' ]"
  check "Chromium's fallback (${fallback} ms) is about 1 s (timeout:1)" ge "$fallback" 800
  check "the page's stealth threshold (600 ms) is at most 3/4 of it" ge "$((fallback * 3 / 4))" 600
  printf '%s\n' "$MODE: $EXTRA" >"$CASE_DIR/result.txt"
  PARTS+=("$MODE: $EXTRA")
}

# browser_open: the page in Chromium inside dfl-client. Sets PAGE_STATE, PAGE_OVERALL,
# PAGE_SECONDS (the page's own elapsed time), PAGE_TIMING (its timing verdict), PAGE_NAMES (its
# probe names as the browser asked them, behaviour labels included).
browser_open() {
  local deadline=${1:-20} query=${2:-} url=$BROWSER_URL rc=0 opts=()
  [ "${SCEN_NAME:-}" = browser_tls ] && { url="https://$PROBE_ANSWER/"; opts=(--insecure); }
  nsx $NS_CLIENT timeout $((deadline + 30)) python3 "$LAB_DIR/lib/browser.py" "$url$query" "${opts[@]}" \
    --png "$CASE_DIR/page.png" --json "$CASE_DIR/page.json" --deadline "$deadline" \
    >"$CASE_DIR/browser.out" 2>&1 || rc=$?
  PAGE_STATE=$(jq -r '.state // "none"' "$CASE_DIR/page.json" 2>/dev/null) || PAGE_STATE="none (exit $rc)"
  PAGE_OVERALL=$(jq -r '.result.overall // "-"' "$CASE_DIR/page.json" 2>/dev/null) || PAGE_OVERALL=-
  PAGE_SECONDS=$(jq -r '((.result.elapsedMs // 0) / 100 | round) / 10' "$CASE_DIR/page.json" 2>/dev/null) || PAGE_SECONDS=-
  PAGE_TIMING=$(jq -r '.result.timing.state // "-"' "$CASE_DIR/page.json" 2>/dev/null) || PAGE_TIMING=-
  mapfile -t PAGE_NAMES < <(jq -r '.result.probes[]?.name | sub("\\.$"; "")' \
    "$CASE_DIR/page.json" 2>/dev/null)
  log "page $SCEN_NAME/$MODE: $PAGE_STATE $PAGE_OVERALL in ${PAGE_SECONDS}s (browser exit $rc)"
}

# page_has VERDICT [TEXT]: the page shows a finding with VERDICT whose title contains TEXT.
page_has() {
  jq -e --arg v "$1" --arg t "${2:-}" 'any(.result.findings[]?; .verdict == $v and (.title | contains($t)))' \
    "$CASE_DIR/page.json" >/dev/null 2>&1
}
# page_verdicts: the page's findings, "VERDICT:first words" each, for the RESULT line.
page_verdicts() { jq -r '[.result.findings[]? | .verdict] | join(",")' "$CASE_DIR/page.json" 2>/dev/null; }
# page_seen NAME: how many queries for the page's probe names resolver NAME logged in this case.
page_seen() { [ ${#PAGE_NAMES[@]} -gt 0 ] && seen_count "$1" "${PAGE_NAMES[@]}" || echo 0; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# browser_case NAME MODE: one case, from the lab's base state.
browser_case() {
  SCEN_NAME=browser_$1 MODE=$2
  case $1 in
    coffee_shop | slow_authority) prepare "$SHOP_RESOLVER" ;;
    stealth_isp | tproxy_report) prepare "$ISP_RESOLVER,$SHOP_RESOLVER" ;;
    vpn_only | tls) prepare "$SHOP_RESOLVER"; client_set_resolvers "$PROVIDER_RESOLVER" ;;
  esac
  apply_mode
  case_begin "$LAB_EVIDENCE/runs/$SCEN_NAME/$MODE"
  MODE="$1/$2"  # assertions and the RESULT line name the case too
  local limit=$BROWSER_FAST_S
  [ "$1" = stealth_isp ] && limit=$BROWSER_STEALTH_S
  local query=""
  [ "$1" = slow_authority ] && query="?hold=300"
  browser_open 25 "$query"
  log_barrier "${UNTRUSTED_RESOLVERS[@]}" provider || FAILS+=("$MODE: log barrier")
  keep_logs
  check "the page finished ($PAGE_STATE)" eq "$PAGE_STATE" done
  check "the page has its probe names (${#PAGE_NAMES[@]})" ge "${#PAGE_NAMES[@]}" 4
  check "the verdict came in ${PAGE_SECONDS}s < ${limit}s" lt "$PAGE_SECONDS" "$limit"
  check "a screenshot was kept" test -s "$CASE_DIR/page.png"
  local shop isp prov serve_t
  shop=$(page_seen shop) isp=$(page_seen isp) prov=$(page_seen provider) serve_t=$(page_seen serve-tproxy)
  EXTRA="page=$PAGE_OVERALL findings=$(page_verdicts) timing=$PAGE_TIMING seconds=$PAGE_SECONDS logs[shop=$shop isp=$isp provider=$prov serve-tproxy=$serve_t]"
  "browser_expect_$1"
  printf '%s\n' "$MODE: $EXTRA" >"$CASE_DIR/result.txt"
  PARTS+=("$MODE: $EXTRA")
}

browser_expect_coffee_shop() {
  check "page: LEAK-TYPE2 overall ($PAGE_OVERALL)" eq "$PAGE_OVERALL" LEAK-TYPE2
  check "page names $SHOP_RESOLVER as not the VPN's" page_has LEAK-TYPE2 "$SHOP_RESOLVER is not your VPN's resolver"
  check "true: the shop's log has the page's names ($shop)" ge "$shop" 1
  check "page: no stealth claimed on a quick path" bash -c "! jq -e 'any(.result.findings[]; .verdict == \"STEALTH\")' '$CASE_DIR/page.json' >/dev/null"
}

browser_expect_slow_authority() {
  browser_expect_coffee_shop
  local post; post=$(jq -r '.result.timing.postMs // 0 | round' "$CASE_DIR/page.json" 2>/dev/null) || post=0
  check "the timing was measured and is not a fallback ($PAGE_TIMING)" bash -c "[ '$PAGE_TIMING' = fast ] || [ '$PAGE_TIMING' = slow ]"
  check "the authority's 300 ms show after it (median ${post} ms)" ge "$post" 280
}

browser_expect_stealth_isp() {
  check "page: flags the timing (STEALTH finding; timing $PAGE_TIMING)" page_has STEALTH "Stealth DNS server is likely"
  check "page: not OK ($PAGE_OVERALL)" ne "$PAGE_OVERALL" OK
  check "page: overall STEALTH ($PAGE_OVERALL)" eq "$PAGE_OVERALL" STEALTH
  check "true: the Stealth ISP logged the page's names ($isp)" ge "$isp" 1
  check "true: the shop answered after the fallback ($shop)" ge "$shop" 1
  check "the page never names the ISP as seen at the authority" bash -c "! jq -e 'any(.result.findings[]; .title | contains(\"$ISP_RESOLVER\"))' '$CASE_DIR/page.json' >/dev/null"
}

browser_expect_tproxy_report() {
  check "page: INTERCEPTED overall ($PAGE_OVERALL)" eq "$PAGE_OVERALL" INTERCEPTED
  check "page names $ISP_RESOLVER as caught by this VPN server" page_has INTERCEPTED "$ISP_RESOLVER, which is not your VPN's resolver; this VPN server caught them"
  check "true: the ISP logged none of the page's names ($isp)" eq "$isp" 0
  check "true: the shop logged none ($shop)" eq "$shop" 0
  check "true: dnsfence serve (tproxy) logged them ($serve_t)" ge "$serve_t" 1
}

browser_expect_tls() {
  browser_expect_vpn_only
  local fetched
  fetched=$(jq '[.result.probes[]? | select(.ok)] | length' "$CASE_DIR/page.json" 2>/dev/null || echo 0)
  check "every probe was fetched over HTTPS from the witness ($fetched of 4)" eq "$fetched" 4
  check "Resource Timing worked through the proxy (timing $PAGE_TIMING)" bash -c "[ '$PAGE_TIMING' = fast ] || [ '$PAGE_TIMING' = slow ]"
  check "the page was HTTPS" grep -q "\"url\": \"https://" "$CASE_DIR/page.json"
}

browser_expect_vpn_only() {
  check "page: OK ($PAGE_OVERALL)" eq "$PAGE_OVERALL" OK
  check "true: no untrusted resolver logged the page's names (shop=$shop isp=$isp)" eq "$((shop + isp))" 0
  check "true: the provider's resolver did ($prov)" ge "$prov" 1
}

# browser_run [CASE...]: the cases (default all), one RESULT line; exit 0 only if all held.
browser_run() {
  local cases=("$@") c t0 wall verdict rc=0
  [ ${#cases[@]} -gt 0 ] || cases=("${BROWSER_CASES[@]}")
  FAILS=() PARTS=()
  t0=$(now_ms)
  lab_configs
  browser_net_up
  trap 'unprotect; browser_tls_down; browser_net_down; serve_start' EXIT
  for c in "${cases[@]}"; do
    case $c in
      fallback) browser_fallback ;;
      coffee_shop | slow_authority | stealth_isp) browser_case "$c" unprotected ;;
      tproxy_report) browser_case "$c" tproxy ;;
      vpn_only) browser_case "$c" protected ;;
      tls) browser_tls_up; browser_case "$c" protected; browser_tls_down ;;
      *) log "unknown browser case $c (${BROWSER_CASES[*]})"; return 2 ;;
    esac
    unprotect
  done
  wall=$(($(now_ms) - t0)) verdict=PASS
  if [ ${#FAILS[@]} -gt 0 ]; then verdict="FAIL: $(printf '%s; ' "${FAILS[@]}")"; rc=1; fi
  local line; line="RESULT e2e.browser | $(printf '%s | ' "${PARTS[@]}")$verdict [${wall} ms]"
  echo "$line"
  mkdir -p "$LAB_EVIDENCE/runs/browser"
  echo "$line" >"$LAB_EVIDENCE/runs/browser/RESULT"
  return $rc
}
