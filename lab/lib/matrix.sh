# shellcheck shell=bash
# The scenario matrix (lab/README.md): a case is data, not a hand-written scenario: the client's
# resolver list (kinds, family, route to each), the server's protection (none, block, redirect,
# tproxy; with or without the allowlist), the client guard. lib/matrix.py enumerates the space,
# samples it with a fixed seed, and is the oracle; this file runs the cases on the shared topology
# (brought up once), resetting it between cases.
#
#   matrix_run (--all | --sample N [--seed S] | --only ID[,ID]) [--shard K/N]
#
# Per case: reset (no rules, the base proxy, no LAN routes, conntrack flushed) -> the protection
# -> resolv.conf and routes -> log marks -> `dnsfence leaktest` in the client (a fresh witness run:
# unique probe names) -> log barriers on every resolver involved and on the authority's capture
# (absence is proven, not waited for) -> the oracle judges each resolver -> one JSON line each in
# $MX_DIR/results.jsonl. At the end the confusion matrix (truth x verdict), $MX_DIR/report.txt.

MX_PY=$LAB_DIR/lib/matrix.py
MX_DIR=""
MX_ROUTES=()

# mx_configs: the server's file for each protection, with and without the allowlist (the user's
# public resolver, both families, and the provider's; without: none at all).
mx_configs() {
  local mode al saved=("${ALLOWLIST[@]}")
  for mode in redirect block tproxy; do
    for al in 0 1; do
      if [ $al = 1 ]; then ALLOWLIST=("${saved[@]}"); else ALLOWLIST=(); fi
      server_toml "mx-$mode-$al" "$mode"
    done
  done
  ALLOWLIST=("${saved[@]}")
}

# The authority's own capture (dfl-auth, every DNS query it receives), for the whole run; each case
# reads its slice. The oracle's evidence that a name "never reached the authority from anyone".
mx_auth_file() { echo "$LAB_STATE/out/mx-authority.out"; }
mx_auth_start() {
  start_bg mx-authority $NS_AUTH tcpdump -i eth0 -n -l "dst port 53"
  wait_until 5 grep -q "listening on" "$(mx_auth_file)" || die "the authority's capture did not start"
}

# mx_protect PROTECTION ALLOWLIST GUARD: the case's protection. Cases come sorted by protection, so
# the rules and the proxy change only when it does (a change removes everything first and forgets
# the flows: NAT only sees new ones, pitfall 8).
MX_STATE=""
mx_protect() {
  [ "$MX_STATE" = "$1/$2/$3" ] && return 0
  local name=mx-$1-$2
  fw_remove $NS_VPN
  fw_remove $NS_CLIENT
  case $1 in
    none | block) serve_tproxy_stop; serve_start ;;   # the VPN's resolver: the base proxy
    redirect) serve_tproxy_stop; serve_start "$name" ;;
    tproxy) serve_stop; serve_tproxy_start "$name" ;;
  esac
  [ "$1" = none ] || fw_apply $NS_VPN "$name"
  [ "$3" = 1 ] && fw_apply $NS_CLIENT client
  nsx $NS_VPN conntrack -F >/dev/null 2>&1 || true
  nsx $NS_CLIENT conntrack -F >/dev/null 2>&1 || true
  MX_STATE="$1/$2/$3"
}

# mx_client RESOLVERS: resolv.conf in the list's order; a route outside the tunnel (via the LAN) for
# each resolver whose route is "lan" (as a split tunnel or the LAN's own resolver has).
mx_client() {
  local entry addr route addrs=() entries
  IFS=';' read -ra entries <<<"$1"
  for entry in "${entries[@]}"; do
    addr=${entry%,*} route=${entry#*,}
    addrs+=("$addr")
    if [ "$route" = lan ]; then
      ip -n $NS_CLIENT route replace "$addr/32" via $LAN_GW dev eth0
      MX_ROUTES+=("$addr/32")
    fi
  done
  client_set_resolvers "${addrs[@]}"
}
mx_routes_del() {
  local r
  for r in "${MX_ROUTES[@]}"; do ip -n $NS_CLIENT route del "$r" 2>/dev/null || true; done
  MX_ROUTES=()
}

# mx_offsets: where every resolver log and the authority's capture end now ("name=bytes,...").
mx_offsets() {
  local files=() r out="" sizes i=0
  for r in "${ALL_RESOLVERS[@]}"; do files+=("$(resolver_log "$r")"); done
  mapfile -t sizes < <(stat -c %s "${files[@]}" "$(mx_auth_file)")
  for r in "${ALL_RESOLVERS[@]}" authority; do out+="$r=${sizes[$i]},"; i=$((i + 1)); done
  echo "$out"
}

# matrix_case ID PROTECTION ALLOWLIST GUARD RESOLVERS TRUSTED LOGS SPEC: one case (the columns of
# `matrix.py cases`); the oracle appends its rows to results.jsonl and prints the case's line.
matrix_case() {
  local id=$1 prot=$2 al=$3 guard=$4 resolvers=$5 trusted=$6 spec=$8 t0 dir offsets r ts line
  t0=$(now_ms)
  dir=$MX_DIR/cases/${id//[\/+]/_}
  mkdir -p "$dir"
  # Another run of the lab (or `lab/lab down`) outside the netns lock would pull the topology from
  # under the case: stop instead of judging a broken network.
  local ns
  for ns in "${LAB_NAMESPACES[@]}"; do
    [ -e "/run/netns/$ns" ] || { log "matrix: namespace $ns is gone: the lab was torn down under the run"; exit 3; }
  done
  mx_protect "$prot" "$al" "$guard"
  mx_client "$resolvers"
  offsets=$(mx_offsets)
  local args=(leaktest --json --witness "$(witness_api)" --vpn-resolver "$TUN_SERVER" --public "$ATTACKER_RESOLVER"
    --timeout 1000 --system-timeout 3000 --record "$dir/facts.json")
  if [ "$trusted" != - ]; then
    IFS=';' read -ra ts <<<"$trusted"
    for r in "${ts[@]}"; do args+=(--trusted "$r"); done
  fi
  # DFL_LEAKTEST: another dnsfence for leaktest alone (e.g. an older one, to compare on the same cases).
  nsx $NS_CLIENT timeout 30 "${DFL_LEAKTEST:-$DNSFENCE}" "${args[@]}" >"$dir/leaktest.json" 2>"$dir/leaktest.err" || true
  line=$(nsx $NS_VPN python3 "$MX_PY" finish "$dir" "$LAB_EVIDENCE/resolvers" "$(mx_auth_file)" "$offsets" \
    "$spec" "$MX_DIR/results.jsonl") || line="the oracle failed"
  mx_routes_del
  [ -e "/run/netns/$NS_CLIENT" ] || { log "matrix: the lab was torn down during case $id"; exit 3; }
  printf 'MX %s %s [%s ms]\n' "$id" "$line" "$(($(now_ms) - t0))"
}

matrix_run() {
  local t0 n=0 total line rc=0
  t0=$(now_ms)
  MX_DIR=${DFL_MATRIX_DIR:-$LAB_EVIDENCE/matrix}
  rm -rf "$MX_DIR" && mkdir -p "$MX_DIR/cases"
  python3 "$MX_PY" cases "$@" >"$MX_DIR/cases.tsv" || exit 2
  total=$(grep -c . "$MX_DIR/cases.tsv" || true)
  lab_configs
  mx_configs
  mx_auth_start
  # Leave the lab in its base state: no rules, the base proxy, the shop's resolver.
  trap 'mx_routes_del; fw_remove $NS_VPN; fw_remove $NS_CLIENT; serve_tproxy_stop; stop_bg mx-authority
    client_set_resolvers "$SHOP_RESOLVER"; serve_start' EXIT
  # fd 3: the commands of a case must not read the list of cases from stdin.
  while IFS=$'\t' read -r -a c -u 3; do
    n=$((n + 1))
    printf '%s/%s ' "$n" "$total"
    matrix_case "${c[@]}" </dev/null
  done 3<"$MX_DIR/cases.tsv"
  python3 "$MX_PY" report "$MX_DIR/results.jsonl" >"$MX_DIR/report.txt" || rc=1
  cat "$MX_DIR/report.txt"
  line="MATRIX $total cases in $((($(now_ms) - t0) / 1000)) s: $([ $rc = 0 ] && echo PASS || echo FAIL)"
  echo "$line" | tee -a "$MX_DIR/report.txt"
  return $rc
}
