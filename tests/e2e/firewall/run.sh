#!/usr/bin/env bash
# Firewall end-to-end scenarios with real packets: kdig in dfw-cli, through dfw-srv running
# `dnsfence firewall`, to unbound resolvers in dfw-leak / dfw-allow (and the "proxy" in dfw-srv).
# Usage: run.sh DNSFENCE_BINARY SCENARIO   (block, redirect, failclosed, tproxy, client, lifecycle,
#        iptables). Needs root; exits 77 (skipped) otherwise. Tears down on every exit.
set -euo pipefail
DNSFENCE=$(realpath "$1")
SCENARIO=$2
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root"; exit 77; }
cd "$(dirname "$0")"
source ./lib.sh
[ -n "${DFW_KEEP:-}" ] || trap teardown EXIT  # DFW_KEEP=1: leave it up to debug
CONF=$WORK/dnsfence.toml

write_config() {  # write_config MODE [BACKEND]
  cat >"$CONF" <<CONF
[serve]
listen = ["10.8.0.1:53", "[fd00:8::1]:53"]
tproxy_listen = ["0.0.0.0:5300", "[::]:5300"]
upstreams = ["10.8.0.1"]
[allowlist]
addresses = ["198.51.100.53", "2001:db8:53::53"]
[firewall]
mode = "$1"
backend = "${2:-nft}"
interfaces = ["vpn0"]
sources = ["10.8.0.0/24", "fd00:8::/64"]
tproxy_mark = 0x1
tproxy_table = 100
CONF
}

fw() { in_ns dfw-srv "$DNSFENCE" firewall "$@" --config "$CONF"; }

start_resolvers() {  # the leak resolver (also on 853 and the client's LAN) and the allowlisted one
  start_unbound leak dfw-leak 10.99.0.2 "interface: 192.0.2.53" "interface: 2001:db8:2::53" \
    "interface: 192.0.2.53@853" "interface: 10.77.0.1"
  start_unbound allow dfw-allow 10.99.0.3 "interface: 198.51.100.53" "interface: 2001:db8:53::53" \
    "interface: 198.51.100.53@853"
}

# Every family x transport to the leak resolver: `expect` answers, logged nowhere but `where`.
each_path() {  # each_path TAG EXPECTED_ANSWER RESOLVER_THAT_MUST_LOG_OR_NONE
  local tag=$1 want=$2 where=$3
  for server in 192.0.2.53 2001:db8:2::53; do
    for t in udp tcp; do
      local name="$tag-$t-${server//[:.]/-}-$RANDOM.test."
      expect_answer "$tag $t to $server" "$want" "$server" "$name" $([ $t = tcp ] && echo +tcp)
      logged leak "$name" && fail "$tag: $name leaked to the leak resolver"
      if [ "$where" != none ]; then logged "$where" "$name" || fail "$tag: $name not in $where's log"; fi
      pass "$tag $t $server -> '${want:-no answer}'"
    done
  done
}

allowlisted() {
  for server in 198.51.100.53 2001:db8:53::53; do
    for t in udp tcp; do
      expect_answer "allowlisted $t $server" 10.99.0.3 "$server" "allow-$t-$RANDOM.test." $([ $t = tcp ] && echo +tcp)
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
  fw allow list | grep -qx 192.0.2.53 || fail "allow list does not show 192.0.2.53"
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
  stop_pid "$PID_proxy"
  for server in 192.0.2.53 2001:db8:2::53; do
    for t in udp tcp; do
      local name="down-$t-$RANDOM.test."
      expect_answer "proxy down $t $server" "" "$server" "$name" $([ $t = tcp ] && echo +tcp)
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
  in_ns dfw-srv ip rule | grep -q "fwmark 0x1 lookup 100" || fail "policy routing rule (v4) missing"
  in_ns dfw-srv ip -6 rule | grep -q "fwmark 0x1 lookup 100" || fail "policy routing rule (v6) missing"
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
  stop_pid "$PID_proxy"
  for server in 192.0.2.53 2001:db8:2::53; do
    for t in udp tcp; do
      local name="tproxy-down-$t-$RANDOM.test."
      expect_answer "tproxy, proxy down, $t $server" "" "$server" "$name" $([ $t = tcp ] && echo +tcp)
      for r in leak allow proxy; do logged $r "$name" && fail "tproxy fail-closed: $name reached $r"; done
    done
  done
  [ "$(counter guard blocked-dns-udp)" -ge 2 ] || fail "guard did not catch the untproxied queries"
  pass "tproxy, proxy down: the guard rejects, nothing reaches any resolver"
  fw remove
  in_ns dfw-srv ip rule | grep -q "fwmark 0x1" && fail "policy routing rule left after remove"
  in_ns dfw-srv ip -6 route show table 100 | grep -q . && fail "v6 local route left after remove"
  pass "tproxy policy routing created and removed with the table"
}

scenario_client() {
  start_resolvers
  start_proxy
  cat >"$CONF" <<CONF
[firewall]
profile = "client"
tunnel = "tun0"
resolvers = ["10.8.0.1", "fd00:8::1"]
CONF
  expect_answer "baseline LAN resolver (Type 1 path)" 10.99.0.2 10.77.0.1 "baseline-$RANDOM.test."
  in_ns dfw-cli "$DNSFENCE" firewall apply --config "$CONF"
  for t in udp tcp; do
    local opt; opt=$([ $t = tcp ] && echo +tcp || true)
    expect_answer "VPN resolver v4 $t" 10.99.0.1 10.8.0.1 "vpn-$t-$RANDOM.test." $opt
    expect_answer "VPN resolver v6 $t" 10.99.0.1 fd00:8::1 "vpn6-$t-$RANDOM.test." $opt
    for server in 10.77.0.1 192.0.2.53 2001:db8:2::53; do
      local name="type1-$t-$RANDOM.test."
      expect_answer "client guard $t $server" "" "$server" "$name" $opt
      logged leak "$name" && fail "client guard: $name reached the leak resolver"
    done
  done
  in_ns dfw-cli "$DNSFENCE" firewall remove --config "$CONF"
  pass "client guard: DNS only through tun0 to the VPN's resolvers"
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
  [ $rc -eq 2 ] && grep -q "chain guard" <<<"$out" || fail "drift not detected (exit $rc): $out"
  fw apply
  fw status >/dev/null || fail "re-apply did not repair the drift"
  pass "drift detected and repaired"
  fw remove
  in_ns dfw-srv nft list table inet dnsfence >/dev/null 2>&1 && fail "table still present after remove"
  in_ns dfw-srv nft list chain inet operator operator_forward | grep -q "operator rule" || fail "operator's table touched"
  fw remove
  pass "remove deletes exactly table inet dnsfence (idempotent), the operator's table is untouched"
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
  fw remove
  in_ns dfw-srv iptables-save | grep -q DNSFENCE && fail "iptables chains left after remove"
  in_ns dfw-srv ip6tables-save | grep -q DNSFENCE && fail "ip6tables chains left after remove"
  pass "iptables backend: redirect v4/v6 udp/tcp, allowlist, idempotent apply, clean removal"
}

setup_topology
"scenario_$SCENARIO"
echo "PASS: firewall e2e $SCENARIO"
