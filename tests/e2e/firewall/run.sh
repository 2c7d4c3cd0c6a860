#!/usr/bin/env bash
# Firewall end-to-end scenarios with real packets: kdig in dfw-cli, through dfw-srv running
# `dnsfence firewall`, to unbound resolvers in dfw-leak / dfw-allow (and the "proxy" in dfw-srv).
# Usage: run.sh DNSFENCE_BINARY SCENARIO   (block, redirect, failclosed, tproxy, client, lifecycle,
#        iptables, encrypted, doh, reject, tproxy_serve, iptables_modes, and from apply_safety.sh
#        tproxy_v4only, rollback). Needs root; exits 77
#        (skipped) otherwise. Tears down on every exit.
set -euo pipefail
DNSFENCE=$(realpath "$1")
SCENARIO=$2
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root"; exit 77; }
cd "$(dirname "$0")"
# shellcheck source=lib.sh
source ./lib.sh
[ -n "${DFW_KEEP:-}" ] || trap teardown EXIT  # DFW_KEEP=1: leave it up to debug
CONF=$WORK/dnsfence.toml

# write_config MODE [BACKEND]; $SERVE_EXTRA / $FW_EXTRA: more lines for [serve] / [firewall].
write_config() {
  cat >"$CONF" <<CONF
[serve]
listen = ["10.8.0.1:53", "[fd00:8::1]:53"]
tproxy_listen = ["0.0.0.0:5300", "[::]:5300"]
upstreams = ["${UPSTREAM:-10.8.0.1}"]
${SERVE_EXTRA:-}
[allowlist]
addresses = ["198.51.100.53", "2001:db8:53::53"]
[firewall]
mode = "$1"
backend = "${2:-nft}"
interfaces = ["vpn0"]
sources = ["10.8.0.0/24", "fd00:8::/64"]
tproxy_mark = 0x1
tproxy_table = 100
${FW_EXTRA:-}
CONF
}

transport() { if [ "$1" = tcp ]; then echo +tcp; else echo +notcp; fi; }  # kdig option for udp|tcp

fw() { in_ns dfw-srv "$DNSFENCE" firewall "$@" --config "$CONF"; }

# tproxy_with_serve BACKEND: the firewall in tproxy mode and a real `dnsfence serve` (tproxy mode,
# unprivileged) in dfw-srv, forwarding to an unbound that answers 10.99.0.1; sets SERVE_PID.
tproxy_with_serve() {
  UPSTREAM=127.0.0.1:5391 SERVE_EXTRA=$'mode = "tproxy"\nworkers = 1\nuser = "nobody"\nmetrics = "127.0.0.1:9153"' \
    write_config tproxy "$1"
  start_unbound proxy dfw-srv 10.99.0.1 "interface: 127.0.0.1@5391"
  fw apply 2>"$WORK/apply.err" || fail "apply: $(cat "$WORK/apply.err")"
  ip netns exec dfw-srv "$DNSFENCE" serve --config "$CONF" >"$WORK/serve.log" 2>&1 &
  SERVE_PID=$!
  PIDS+=("$SERVE_PID")
  wait_for "serve's metrics" in_ns dfw-srv curl -sf http://127.0.0.1:9153/metrics -o /dev/null
}

# The leak resolver (also on the client's LAN) and the allowlisted one, both also on 853 and 443
# (plain DNS standing in for DoT/DoQ/DoH: the firewall decides by address and port).
start_resolvers() {
  start_unbound leak dfw-leak 10.99.0.2 "interface: 192.0.2.53" "interface: 2001:db8:2::53" \
    "interface: 192.0.2.53@853" "interface: 2001:db8:2::53@853" "interface: 192.0.2.53@443" \
    "interface: 2001:db8:2::53@443" "interface: 10.77.0.1" "https-port: 4443"
  start_unbound allow dfw-allow 10.99.0.3 "interface: 198.51.100.53" "interface: 2001:db8:53::53" \
    "interface: 198.51.100.53@853" "interface: 2001:db8:53::53@853" "interface: 198.51.100.53@443" \
    "interface: 2001:db8:53::53@443" "https-port: 4443"
}

LEAK=(192.0.2.53 2001:db8:2::53)
ALLOW=(198.51.100.53 2001:db8:53::53)

# expect_probe WHAT OUTCOME PORT ADDRESS...: udp and tcp to each ADDRESS:PORT, all at once from one
# probe.py. Answered and refused are events, waited for up to 10 s (a bound for a busy machine, not
# a delay); only a drop costs its 1 s timeout, once for the whole batch.
expect_probe() {
  local what=$1 want=$2 port=$3; shift 3
  local targets=() wait=10
  [ "$want" = timeout ] && wait=1
  for server in "$@"; do targets+=(udp "$server" "$port" tcp "$server" "$port"); done
  local results; results=$(in_ns dfw-cli python3 "$PWD/probe.py" --batch "$wait" "${targets[@]}")
  local i=0 got
  while read -r got; do
    local t=${targets[i]} server=${targets[i + 1]}
    [ "${got%% *}" = "$want" ] || fail "$what: $t $server:$port $got, expected $want"
    i=$((i + 3))
  done <<<"$results"
  [ $i -eq ${#targets[@]} ] || fail "$what: $((i / 3)) results for $((${#targets[@]} / 3)) probes"
  pass "$what: udp/tcp to $* port $port $want"
}

# Every family x transport to the leak resolver: `expect` answers, logged nowhere but `where`.
each_path() {  # each_path TAG EXPECTED_ANSWER RESOLVER_THAT_MUST_LOG_OR_NONE
  local tag=$1 want=$2 where=$3
  for server in 192.0.2.53 2001:db8:2::53; do
    for t in udp tcp; do
      local name="$tag-$t-${server//[:.]/-}-$RANDOM.test."
      expect_answer "$tag $t to $server" "$want" "$server" "$name" "$(transport "$t")"
      logged leak "$name" && fail "$tag: $name leaked to the leak resolver"
      if [ "$where" != none ]; then logged "$where" "$name" || fail "$tag: $name not in $where's log"; fi
      pass "$tag $t $server -> '${want:-no answer}'"
    done
  done
}

allowlisted() {
  for server in 198.51.100.53 2001:db8:53::53; do
    for t in udp tcp; do
      expect_answer "allowlisted $t $server" 10.99.0.3 "$server" "allow-$t-$RANDOM.test." "$(transport "$t")"
    done
  done
  pass "allowlisted resolver reachable over v4/v6 udp/tcp"
}

scenario_block() {
  write_config block
  start_resolvers
  expect_answer "baseline (no rules)" 10.99.0.2 192.0.2.53 "baseline-$RANDOM.test."
  expect_answer "baseline DoT port" 10.99.0.2 192.0.2.53 "baseline-853.test." +tcp -p 853
  fw apply
  each_path block "" none
  allowlisted
  expect_answer "853 to the leak resolver" "" 192.0.2.53 "dot-$RANDOM.test." +tcp -p 853
  expect_answer "853 to the allowlisted resolver" 10.99.0.3 198.51.100.53 "dot-ok-$RANDOM.test." +tcp -p 853
  [ "$(counter guard blocked-dns-udp)" -ge 2 ] || fail "blocked-dns-udp counter"
  [ "$(counter guard blocked-dns-tcp)" -ge 2 ] || fail "blocked-dns-tcp counter"
  [ "$(counter guard blocked-dot-tcp)" -ge 1 ] || fail "blocked-dot-tcp counter"
  pass "block counters and 853 (DoT port) blocking"
}

start_proxy() { start_unbound proxy dfw-srv 10.99.0.1 "interface: 10.8.0.1" "interface: fd00:8::1"; }

scenario_redirect() {
  write_config redirect
  start_resolvers
  start_proxy
  fw apply
  each_path redirect 10.99.0.1 proxy
  allowlisted
  [ "$(counter redirect_dns redirected-v6-tcp)" -ge 1 ] || fail "redirected-v6-tcp counter"
  fw allow add 192.0.2.53
  grep -qx 192.0.2.53 <<<"$(fw allow list)" || fail "allow list does not show 192.0.2.53"
  expect_answer "after allow add" 10.99.0.2 192.0.2.53 "allowed-now-$RANDOM.test."
  set +e; fw status >/dev/null; rc=$?; set -e
  [ $rc -eq 2 ] || fail "status after allow add: exit $rc, expected 2 (drift)"
  fw allow del 192.0.2.53
  expect_answer "after allow del" 10.99.0.1 192.0.2.53 "redirected-again-$RANDOM.test."
  fw status >/dev/null || fail "status after allow del is not in sync"
  pass "allow add/del in place, drift reported while the kernel differs from the file"
}

scenario_failclosed() {
  write_config redirect
  start_resolvers
  start_proxy
  fw apply
  expect_answer "proxy up" 10.99.0.1 192.0.2.53 "up-$RANDOM.test."
  # shellcheck disable=SC2154  # PID_proxy is set by start_unbound
  stop_pid "$PID_proxy"
  for server in 192.0.2.53 2001:db8:2::53; do
    for t in udp tcp; do
      local name="down-$t-$RANDOM.test."
      expect_answer "proxy down $t $server" "" "$server" "$name" "$(transport "$t")"
      for r in leak allow proxy; do logged $r "$name" && fail "fail-closed: $name reached $r"; done
    done
  done
  pass "proxy down: no answer from anyone, the probe names reached no resolver"
}

scenario_tproxy() {
  write_config tproxy
  start_resolvers
  start_unbound proxy dfw-srv 10.99.0.1 "interface: 0.0.0.0@5300" "interface: ::@5300" "ip-transparent: yes" \
    "interface-automatic: yes" "interface-automatic-ports: \"5300\""
  fw apply
  grep -q "fwmark 0x1 lookup 100" <<<"$(in_ns dfw-srv ip rule)" || fail "policy routing rule (v4) missing"
  grep -q "fwmark 0x1 lookup 100" <<<"$(in_ns dfw-srv ip -6 rule)" || fail "policy routing rule (v6) missing"
  # unbound stands in for `dnsfence serve`: over TCP the accepted transparent socket answers from
  # the original address; over UDP it answers from port 5300, which kdig rightly ignores. So UDP
  # asserts delivery to the proxy (its log) and that nothing reached the leak resolver.
  for server in 192.0.2.53 2001:db8:2::53; do
    local name="tproxy-udp-$RANDOM.test."
    query dfw-cli "$server" "$name" >/dev/null
    wait_for "$name in the proxy's log" logged proxy "$name"
    logged leak "$name" && fail "tproxy: $name leaked"
    expect_answer "tproxy tcp $server" 10.99.0.1 "$server" "tproxy-tcp-$RANDOM.test." +tcp
    pass "tproxy $server: udp delivered to the transparent listener, tcp answered by it"
  done
  [ "$(counter tproxy_dns tproxied-v6-udp)" -ge 1 ] || fail "tproxied-v6-udp counter"
  # shellcheck disable=SC2154  # PID_proxy is set by start_unbound
  stop_pid "$PID_proxy"
  for server in 192.0.2.53 2001:db8:2::53; do
    for t in udp tcp; do
      local name="tproxy-down-$t-$RANDOM.test."
      expect_answer "tproxy, proxy down, $t $server" "" "$server" "$name" "$(transport "$t")"
      for r in leak allow proxy; do logged $r "$name" && fail "tproxy fail-closed: $name reached $r"; done
    done
  done
  [ "$(counter guard blocked-dns-udp)" -ge 2 ] || fail "guard did not catch the untproxied queries"
  pass "tproxy, proxy down: the guard rejects, nothing reaches any resolver"
  in_ns dfw-srv ip -6 rule del fwmark 0x1 lookup 100
  status_says "IPv6 rule deleted" 2 "drift: policy routing (IPv6): no rule 'fwmark 0x1 lookup 100'"
  pass "status reports the missing policy routing as drift"
  fw remove
  grep -q "fwmark 0x1" <<<"$(in_ns dfw-srv ip rule)" && fail "policy routing rule left after remove"
  grep -q . <<<"$(in_ns dfw-srv ip -6 route show table 100)" && fail "v6 local route left after remove"
  pass "tproxy policy routing created and removed with the table"
}

# client_guard BACKEND: the client profile, with the resolvers up and the VPN's resolver answering
# 10.99.0.1 on 10.8.0.1 and fd00:8::1.
client_guard() {
  cat >"$CONF" <<CONF
[firewall]
backend = "$1"
profile = "client"
tunnel = "tun0"
resolvers = ["10.8.0.1", "fd00:8::1"]
CONF
  expect_answer "baseline LAN resolver (Type 1 path)" 10.99.0.2 10.77.0.1 "baseline-$RANDOM.test."
  in_ns dfw-cli "$DNSFENCE" firewall apply --config "$CONF"
  for t in udp tcp; do
    local opt; opt=$(transport "$t")
    expect_answer "VPN resolver v4 $t" 10.99.0.1 10.8.0.1 "vpn-$t-$RANDOM.test." "$opt"
    expect_answer "VPN resolver v6 $t" 10.99.0.1 fd00:8::1 "vpn6-$t-$RANDOM.test." "$opt"
    for server in 10.77.0.1 192.0.2.53 2001:db8:2::53; do
      local name="type1-$t-$RANDOM.test."
      expect_answer "client guard $t $server" "" "$server" "$name" "$opt"
      logged leak "$name" && fail "client guard: $name reached the leak resolver"
    done
  done
  in_ns dfw-cli "$DNSFENCE" firewall remove --config "$CONF"
  pass "client guard ($1): DNS only through tun0 to the VPN's resolvers"
}

scenario_client() {
  start_resolvers
  start_proxy
  client_guard nft
}

listing() { in_ns dfw-srv nft -a list table inet dnsfence | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'; }

scenario_lifecycle() {
  write_config redirect
  in_ns dfw-srv nft -f - <<<'table inet operator { chain operator_forward { type filter hook forward priority 0; counter comment "operator rule"; }; }'
  fw apply
  local first; first=$(listing | sed -E 's/# handle [0-9]+//')
  fw apply
  [ "$first" = "$(listing | sed -E 's/# handle [0-9]+//')" ] || fail "second apply changed the ruleset"
  fw status >/dev/null || fail "status after apply is not in sync"
  pass "idempotent re-apply"
  in_ns dfw-srv nft flush chain inet dnsfence guard
  set +e; out=$(fw status); rc=$?; set -e
  if [ $rc -ne 2 ] || ! grep -q "chain guard" <<<"$out"; then fail "drift not detected (exit $rc): $out"; fi
  fw apply
  fw status >/dev/null || fail "re-apply did not repair the drift"
  pass "drift detected and repaired"
  fw remove
  in_ns dfw-srv nft list table inet dnsfence >/dev/null 2>&1 && fail "table still present after remove"
  grep -q "operator rule" <<<"$(in_ns dfw-srv nft list chain inet operator operator_forward)" || fail "operator's table touched"
  fw remove
  pass "remove deletes exactly table inet dnsfence (idempotent), the operator's table is untouched"
  # A backend tool that cannot run, fed a ruleset larger than a pipe's buffer (a 100,000-address
  # allowlist): a clear error naming it, exit 1, nothing applied; never death by SIGPIPE.
  python3 -c 'print("[allowlist]\naddresses = [" + ",".join("\"10.%d.%d.%d\"" % (i >> 16, i >> 8 & 255, i & 255)
              for i in range(1, 100001)) + "]\n[firewall]\nmode = \"block\"\nbackend = \"iptables\"\ninterfaces = [\"vpn0\"]")' >"$WORK/big.toml"
  set +e; out=$(in_ns dfw-srv env PATH=/nonexistent "$DNSFENCE" firewall apply --config "$WORK/big.toml" 2>&1); rc=$?; set -e
  if [ $rc -ne 1 ] || ! grep -q "cannot run ipset: not found in PATH" <<<"$out"; then fail "missing ipset: exit $rc: $out"; fi
  grep -q dnsfence <<<"$(in_ns dfw-srv iptables -S)" && fail "missing ipset: iptables chains were created"
  pass "a backend tool that cannot run: exit 1, named, nothing applied"
}

scenario_iptables() {
  write_config redirect iptables
  start_resolvers
  start_proxy
  fw apply
  fw apply
  [ "$(in_ns dfw-srv iptables -t nat -S PREROUTING | grep -c DNSFENCE)" -eq 1 ] || fail "jump inserted twice"
  each_path iptables-redirect 10.99.0.1 proxy
  allowlisted
  expect_probe "iptables: 853" refused 853 "${LEAK[@]}"
  expect_probe "iptables: 853 allowlisted" answered 853 "${ALLOW[@]}"
  fw status >/dev/null || fail "iptables status after apply is not in sync"
  [ "$(counter redirect_dns redirected-v6-udp)" -ge 1 ] || fail "iptables redirected-v6-udp counter"
  fw allow add 2001:db8:2::53
  fw allow add 192.0.2.0/24
  grep -qx 2001:db8:2::53 <<<"$(fw allow list)" || fail "allow list does not show 2001:db8:2::53"
  grep -qx 192.0.2.0/24 <<<"$(in_ns dfw-srv ipset list dnsfence-allow-net-v4)" || fail "prefix not in the hash:net ipset"
  for server in "${LEAK[@]}"; do
    expect_answer "iptables: after allow add $server" 10.99.0.2 "$server" "ipt-allowed-$RANDOM.test."
  done
  set +e; fw status >/dev/null; rc=$?; set -e
  [ $rc -eq 2 ] || fail "iptables status after allow add: exit $rc, expected 2 (drift)"
  fw allow del 2001:db8:2::53
  fw allow del 192.0.2.0/24
  expect_answer "iptables: after allow del" 10.99.0.1 2001:db8:2::53 "ipt-again-$RANDOM.test."
  fw status >/dev/null || fail "iptables status after allow del is not in sync"
  pass "iptables: allow add/del/list in place through ipset, status and drift"
  in_ns dfw-srv iptables -t filter -F DNSFENCE-GUARD
  set +e; out=$(fw status); rc=$?; set -e
  if [ $rc -ne 2 ] || ! grep -q "chain guard" <<<"$out"; then fail "iptables drift not detected (exit $rc): $out"; fi
  fw remove
  grep -q DNSFENCE <<<"$(in_ns dfw-srv iptables-save)" && fail "iptables chains left after remove"
  grep -q DNSFENCE <<<"$(in_ns dfw-srv ip6tables-save)" && fail "ip6tables chains left after remove"
  grep -q dnsfence <<<"$(in_ns dfw-srv ipset -n list)" && fail "ipsets left after remove"
  set +e; fw status >/dev/null; rc=$?; set -e
  [ $rc -eq 1 ] || fail "iptables status after remove: exit $rc, expected 1"
  pass "iptables backend: redirect v4/v6 udp/tcp, allowlist, 853, idempotent apply, clean removal"
}

# The other modes and the client profile with the iptables backend.
scenario_iptables_modes() {
  write_config block iptables
  start_resolvers
  fw apply
  each_path iptables-block "" none
  allowlisted
  fw status >/dev/null || fail "iptables block: status not in sync"
  fw remove
  pass "iptables block mode: v4/v6 udp/tcp rejected, allowlist reachable"
  local serve
  tproxy_with_serve iptables
  serve=$SERVE_PID
  each_path iptables-tproxy 10.99.0.1 proxy
  [ "$(counter tproxy_dns tproxied-v6-udp)" -ge 1 ] || fail "iptables tproxied-v6-udp counter"
  fw status >/dev/null || fail "iptables tproxy: status not in sync"
  tproxy_allowlist iptables
  fw remove
  grep -q "fwmark 0x1" <<<"$(in_ns dfw-srv ip rule)" && fail "policy routing rule left after remove"
  pass "iptables tproxy mode with dnsfence serve: v4/v6 udp/tcp answered, removed cleanly"
  stop_pid "$serve"
  start_unbound vpn dfw-srv 10.99.0.1 "interface: 10.8.0.1" "interface: fd00:8::1"
  client_guard iptables
}

# DoT and DoQ (udp/tcp 853): rejected from VPN clients except to the allowlisted resolver.
scenario_encrypted() {
  write_config block
  start_resolvers
  expect_probe "baseline (no rules)" answered 853 "${LEAK[@]}"
  fw apply
  expect_probe "853 to a non-allowlisted resolver" refused 853 "${LEAK[@]}"
  expect_probe "853 to the allowlisted resolver" answered 853 "${ALLOW[@]}"
  for c in blocked-dot-udp blocked-dot-tcp; do [ "$(counter guard $c)" -ge 2 ] || fail "$c counter"; done
  [ "$(counter guard allowed-v6-tcp)" -ge 1 ] || fail "allowed-v6-tcp counter"
  FW_EXTRA="block_encrypted = false" write_config block
  fw apply
  expect_probe "block_encrypted = false" answered 853 "${LEAK[@]}"
}

# Known DoH endpoints from doh_addresses_file: udp/tcp 443 rejected to them, other 443 untouched.
scenario_doh() {
  printf '# DoH endpoints\n192.0.2.53\n2001:db8:2::53  # v6\n' >"$WORK/doh.txt"
  FW_EXTRA='doh_addresses_file = "doh.txt"' write_config block
  start_resolvers
  expect_probe "baseline (no rules)" answered 443 "${LEAK[@]}"
  fw apply
  expect_probe "443 to a listed DoH endpoint" refused 443 "${LEAK[@]}"
  expect_probe "443 to an address not in the file" answered 443 "${ALLOW[@]}"
  for c in blocked-doh-udp-v4 blocked-doh-tcp-v4 blocked-doh-udp-v6 blocked-doh-tcp-v6; do
    [ "$(counter guard $c)" -ge 1 ] || fail "$c counter"
  done
}

# kdig_timed NS SERVER [kdig options]: "ELAPSED_MS OUTPUT" of one query with a 1 s timeout.
kdig_timed() {
  local ns=$1 server=$2; shift 2
  local start=${EPOCHREALTIME/./} out
  out=$(in_ns "$ns" kdig @"$server" "reject-$RANDOM.test." A +timeout=1 +retry=0 "$@" 2>&1 || true)
  echo "$(((${EPOCHREALTIME/./} - start) / 1000)) $(tr '\n' ' ' <<<"$out")"
}

# Block mode's action: reject fails the client at once (TCP reset; ICMP port unreachable, which a
# connected UDP socket such as glibc's stub or probe.py sees; kdig's UDP socket ignores ICMP and
# waits for its timeout either way); drop leaves every client waiting for its timeout.
scenario_reject() {
  write_config block
  start_resolvers
  fw apply
  for server in "${LEAK[@]}"; do
    local r; r=$(kdig_timed dfw-cli "$server" +tcp)
    if [ "${r%% *}" -ge 500 ] || ! grep -q "can't connect" <<<"$r"; then fail "reject tcp $server: $r"; fi
    pass "reject tcp $server: kdig fails in ${r%% *} ms: can't connect (reset)"
    r=$(in_ns dfw-cli python3 "$PWD/probe.py" udp "$server" 53 2)
    [[ $r == "refused 0."* ]] || fail "reject udp $server: $r, expected refused within 1 s"
    pass "reject udp $server: ICMP port unreachable, $r s"
  done
  FW_EXTRA="reject = false" write_config block
  fw apply
  for server in "${LEAK[@]}"; do
    for t in udp tcp; do
      local r; r=$(kdig_timed dfw-cli "$server" "$(transport "$t")")
      if [ "${r%% *}" -lt 1000 ] || ! grep -q "timeout" <<<"$r"; then fail "drop $t $server: $r"; fi
      pass "drop $t $server: kdig times out after ${r%% *} ms"
    done
  done
  expect_probe "drop" timeout 53 "${LEAK[@]}"
}

# tproxy_allowlist BACKEND, with tproxy_with_serve running: the firewall's allowlist decides what
# bypasses tproxy. The configured resolver is reached directly (its own answer, never in serve's
# upstream's log, the exempt rules count it); `allow add` of the leak resolver (an address and a
# prefix, neither in serve's own allowlist) takes effect at once, and `allow del` intercepts again.
tproxy_allowlist() {
  allowlisted
  for c in exempt-v4-udp exempt-v4-tcp exempt-v6-udp exempt-v6-tcp; do
    [ "$(counter tproxy_dns $c)" -ge 1 ] || fail "$1 tproxy: $c counter"
  done
  grep -q "allow-" "$WORK/proxy/log" && fail "$1 tproxy: an allowlisted query went through serve"
  fw allow add 192.0.2.53
  fw --config "$CONF" allow add 2001:db8:2::/64
  for server in "${LEAK[@]}"; do
    for t in udp tcp; do
      local name="tproxy-allowed-$t-$RANDOM.test."
      expect_answer "$1 tproxy: after allow add, $t $server" 10.99.0.2 "$server" "$name" "$(transport "$t")"
      logged proxy "$name" && fail "$1 tproxy: $name went through serve after allow add"
    done
  done
  [ "$(counter tproxy_dns exempt-net-v6-udp)" -ge 1 ] || fail "$1 tproxy: exempt-net-v6-udp counter"
  fw allow del 192.0.2.53
  fw allow del 2001:db8:2::/64
  each_path "$1-tproxy-after-del" 10.99.0.1 proxy
  pass "$1 tproxy: allowlisted resolvers bypass tproxy, allow add/del take effect at once"
}

# tproxy mode with the real `dnsfence serve` (tproxy_listen :5300) behind `dnsfence firewall`: every
# family x transport is answered by serve's upstream, and kdig accepts a UDP answer only from the
# address it asked, so each answer proves the reply came from the original destination.
scenario_tproxy_serve() {
  local serve
  start_resolvers
  tproxy_with_serve nft
  serve=$SERVE_PID
  each_path tproxy-serve 10.99.0.1 proxy
  [ "$(counter tproxy_dns tproxied-v6-tcp)" -ge 1 ] || fail "tproxied-v6-tcp counter"
  tproxy_allowlist nft
  stop_pid "$serve"
  expect_answer "serve stopped" "" 192.0.2.53 "serve-down-$RANDOM.test."
  pass "tproxy + dnsfence serve: v4/v6 udp/tcp answered from the original address; fail-closed"
}

# shellcheck source=apply_safety.sh
source ./apply_safety.sh

setup_topology
"scenario_$SCENARIO"
echo "PASS: firewall e2e $SCENARIO"
