# shellcheck shell=bash
# The probe zones' authority: the real `dnsfence witness serve` (the binary under test, $DNSFENCE),
# one instance per zone in dfl-auth. A witness answers only its own HMAC tokens (`POST /runs`);
# any other name in its zone is NXDOMAIN. So every probe whose answer matters (the lab's lookups
# and leaktest's) is a witness token, and the names that only need to reach a resolver's log
# (barrier markers, readiness checks) stay arbitrary.
#
#   zone                        DNS                API (HTTP)                  used by
#   leak.test                   192.0.2.53:53      http://192.0.2.53:8053      every scenario
#   bank.leak.test              192.0.2.54:53      http://192.0.2.54:8053      13 (the shop forges it)
#   dissident-news.leak.test    192.0.2.55:53      http://192.0.2.55:8053      2 (a sensitive name)
#
# The recursive resolvers reach each zone by its own stub zone (stub_to_auth). The APIs listen on
# dfl-auth's public addresses: the lab reads them from dfl-auth, and leaktest in dfl-client reaches
# them the way a VPN user reaches any server on the internet, through the tunnel and the VPN
# server's NAT (only DNS, ports 53/853, is ever redirected or blocked, never 8053).

WITNESS_ZONES=("$PROBE_ZONE" "bank.$PROBE_ZONE" "dissident-news.$PROBE_ZONE")
declare -A WITNESS_ADDR=([$PROBE_ZONE]=$AUTH_ADDR [bank.$PROBE_ZONE]=$AUTH_ADDR_BANK
  [dissident-news.$PROBE_ZONE]=$AUTH_ADDR_NEWS)
WITNESS_PROBES_PER_RUN=40   # leaktest asks 1 + 4 per probed resolver + 1 per --public (<= 22 here); scenario 11 uses 31

witness_api() { echo "http://${WITNESS_ADDR[${1:-$PROBE_ZONE}]}:$WITNESS_API_PORT"; }
witness_pname() { local z=${1%."$PROBE_ZONE"}; [ "$z" = "$PROBE_ZONE" ] && z=leak; echo "witness-${z%%.*}"; }
witness_healthy() { nsx $NS_AUTH curl -sf --max-time 1 "$(witness_api "$1")/healthz"; }

witness_up() {
  local zone name dir addr
  dir=$LAB_STATE/witness
  mkdir -p "$dir"
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/witness.key"
  chmod 600 "$dir/witness.key"
  reporter_key
  for zone in "${WITNESS_ZONES[@]}"; do
    name=$(witness_pname "$zone") addr=${WITNESS_ADDR[$zone]}
    # The browser page (lib/browser.sh) on leak.test: the VPN's own resolvers by prefix (its NAT
    # egress, the provider's and the tunnel's addresses), and the VPN server as a reporter.
    page=""
    [ "$zone" = "$PROBE_ZONE" ] && page="[[witness.resolvers]]
name = \"Lab VPN\"
prefixes = [\"$VPN_WAN/32\", \"$VPN_WAN6/128\", \"$PROV_NET\", \"$TUN_NET\", \"$TUN_NET6\"]
[[witness.reporters]]
name = \"$REPORTER_NAME\"
key_file = \"$REPORTER_KEY_WITNESS\"
sources = [\"$VPN_WAN/32\"]"
    cat >"$dir/$name.toml" <<TOML
[witness]
zone = "$zone"
user = "nobody"
listen = ["$addr:53"]
api = "$addr:$WITNESS_API_PORT"
answer_a = ["$PROBE_ANSWER"]
answer_ttl = 0
run_ttl = 3600
max_runs = 1000
max_resolvers_per_run = 64
probes_per_run = $WITNESS_PROBES_PER_RUN
# The lab creates runs as fast as its cases go (the scenario matrix: one every ~2 s, all from
# 192.0.2.0/24): no rate limit on run creation here.
runs_per_minute = 0
[[witness.ns]]
name = "ns1.$zone"
addresses = ["$addr"]
$page
TOML
    start_bg "$name" $NS_AUTH "$DNSFENCE" witness serve --config "$dir/$name.toml" --key-file "$dir/witness.key"
  done
  for zone in "${WITNESS_ZONES[@]}"; do
    wait_until 5 witness_healthy "$zone" ||
      die "witness for $zone did not start: $(cat "$LAB_STATE/out/$(witness_pname "$zone").out")"
  done
}

# witness_new_run [ZONE]: a run on the zone's witness. Sets WITNESS_RUN, WITNESS_RUN_ZONE and
# WITNESS_PROBES (its probe names, no trailing dot); notes it in $CASE_DIR/witness-runs.txt.
witness_new_run() {
  local zone=${1:-$PROBE_ZONE} out
  out=$(nsx $NS_AUTH curl -sf --max-time 2 -X POST -H 'Content-Type: application/json' -d '{}' \
    "$(witness_api "$zone")/runs") || die "witness $zone: POST /runs failed"
  WITNESS_RUN=$(jq -r .run <<<"$out") WITNESS_RUN_ZONE=$zone
  mapfile -t WITNESS_PROBES < <(jq -r '.probes[] | sub("\\.$"; "")' <<<"$out")
  [ -n "$CASE_DIR" ] && echo "$zone $WITNESS_RUN" >>"$CASE_DIR/witness-runs.txt"
  return 0
}

# witness_results ZONE RUN: the run's record (GET /runs/RUN).
witness_results() { nsx $NS_AUTH curl -sf --max-time 2 "$(witness_api "$1")/runs/$2"; }

# witness_sources ZONE RUN NAME...: the resolver addresses the witness saw asking for any NAME.
witness_sources() {
  local zone=$1 run=$2; shift 2
  witness_results "$zone" "$run" | jq -r --args '($ARGS.positional | map(ascii_downcase)) as $want
    | [.resolvers[] | select(any(.names[]; sub("\\.$"; "") | ascii_downcase | IN($want[]))) | .address]
    | unique | join(",")' "$@" 2>/dev/null || true
}
