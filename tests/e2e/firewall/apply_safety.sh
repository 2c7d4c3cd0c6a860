# shellcheck shell=bash
# Firewall scenarios about what `apply` does to the kernel when things are not ideal (sourced by
# run.sh, which provides the topology and helpers):
#   tproxy_v4only  tproxy on a server with IPv6 disabled: applied for IPv4 with a note, real packets
#                  answered by `dnsfence serve`; status checks the policy routing and reports drift.
#   rollback       a failure injected at every step of apply (nft and iptables backends, from a
#                  clean kernel and from a previously applied mode), a conflicting route, a missing
#                  tool, a table owned by another process: apply exits 1 and the kernel's rules,
#                  routes, ipsets and tables are exactly what they were.

# status_says WHAT EXIT TEXT: `firewall status` exits EXIT and prints TEXT.
status_says() {
  local out rc
  set +e; out=$(fw status); rc=$?; set -e
  [ $rc -eq "$2" ] || fail "$1: status exit $rc, expected $2: $out"
  grep -qF -- "$3" <<<"$out" || fail "$1: status does not say '$3': $out"
}

scenario_tproxy_v4only() {
  in_ns dfw-srv sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  start_resolvers
  local serve
  tproxy_with_serve nft  # fails here on a server that cannot be IPv4-only
  serve=$SERVE_PID
  grep -q "note: IPv6 is disabled (net.ipv6.conf.lo.disable_ipv6 = 1): tproxy's IPv6 policy routing is skipped" \
    "$WORK/apply.err" || fail "apply did not say that it skipped IPv6: $(cat "$WORK/apply.err")"
  grep -q "fwmark 0x1 lookup 100" <<<"$(in_ns dfw-srv ip -4 rule)" || fail "IPv4 policy routing rule missing"
  for t in udp tcp; do
    local name="v4only-$t-$RANDOM.test."
    expect_answer "IPv4-only tproxy $t" 10.99.0.1 192.0.2.53 "$name" "$(transport "$t")"
    logged proxy "$name" || fail "$name did not go through serve"
    logged leak "$name" && fail "$name leaked"
  done
  pass "tproxy on an IPv4-only server: applied with a note, udp/tcp answered by serve"
  status_says "IPv4-only, applied" 0 "note: IPv6 is disabled"
  in_ns dfw-srv ip -4 rule del fwmark 0x1 lookup 100
  status_says "rule deleted" 2 "drift: policy routing (IPv4): no rule 'fwmark 0x1 lookup 100'"
  fw apply 2>/dev/null
  in_ns dfw-srv ip -4 route del local default dev lo table 100
  status_says "route deleted" 2 "drift: policy routing (IPv4): table 100 has no route 'local default dev lo'"
  fw apply 2>/dev/null
  status_says "repaired" 0 "in sync"
  expect_answer "IPv4-only tproxy after repair" 10.99.0.1 192.0.2.53 "v4only-again-$RANDOM.test."
  pass "status checks the policy routing: a missing rule or route is drift, apply repairs it"
  stop_pid "$serve"
  fw remove
  UPSTREAM=127.0.0.1:5391 write_config tproxy iptables
  fw apply 2>"$WORK/apply.err" || fail "iptables apply on an IPv4-only server: $(cat "$WORK/apply.err")"
  grep -q "IPv6 policy routing is skipped" "$WORK/apply.err" || fail "iptables: no note about IPv6"
  status_says "iptables, IPv4-only" 0 "in sync"
  fw remove
  grep -q fwmark <<<"$(in_ns dfw-srv ip -4 rule)" && fail "policy routing left after remove"
  pass "iptables backend on an IPv4-only server: applied with a note, in sync, removed"
}

# Wrappers that run the real tool, except the DFW_NTH-th call (default: the first) whose "TOOL ARGS"
# matches the glob in $DFW_FAIL, which fails (calls are counted in the file $DFW_COUNT).
make_fakebin() {
  mkdir -p "$WORK/fakebin"
  local tool real
  for tool in ip ipset iptables ip6tables iptables-restore ip6tables-restore; do
    real=$(command -v "$tool")
    cat >"$WORK/fakebin/$tool" <<WRAPPER
#!/bin/bash
if [[ -n "\${DFW_FAIL:-}" && "$tool \$*" == \$DFW_FAIL ]]; then
  n=\$((\$(cat "\$DFW_COUNT" 2>/dev/null || echo 0) + 1))
  echo "\$n" >"\$DFW_COUNT"
  if [ "\$n" -eq "\${DFW_NTH:-1}" ]; then echo "injected failure: $tool \$*" >&2; exit 1; fi
fi
exec $real "\$@"
WRAPPER
    chmod +x "$WORK/fakebin/$tool"
  done
}

# Everything apply may touch, in a stable order (no counters move: no packets in this scenario).
fingerprint() {
  in_ns dfw-srv sh -c 'nft list ruleset; ip -4 rule; ip -6 rule; ip -4 route show table all;
    ip -6 route show table all; iptables-save; ip6tables-save; ipset save' 2>&1 | grep -v '^#' | sort
}

# apply_fails WHAT OUTPUT_PATTERN [env...]: apply of $CONF exits 1 naming the failure, says it rolled
# back, and the kernel is exactly as before ($BEFORE, when the caller took it already).
apply_fails() {
  local what=$1 pattern=$2 before=${BEFORE:-} after out rc
  shift 2
  [ -n "$before" ] || before=$(fingerprint)
  rm -f "$WORK/fail.count"
  set +e
  out=$(in_ns dfw-srv env PATH="$WORK/fakebin:$PATH" DFW_COUNT="$WORK/fail.count" "$@" \
    "$DNSFENCE" firewall apply --config "$CONF" 2>&1)
  rc=$?
  set -e
  [ $rc -eq 1 ] || fail "$what: exit $rc: $out"
  grep -qF -- "$pattern" <<<"$out" || fail "$what: the error does not say '$pattern': $out"
  grep -q "nothing was changed" <<<"$out" || fail "$what: no rollback: $out"
  after=$(fingerprint)
  [ "$before" = "$after" ] || fail "$what: the kernel changed: $(diff <(echo "$before") <(echo "$after") || true)"
  pass "$what: exit 1, rolled back, nothing left behind"
}

# inject_each BACKEND STATE STEP...: a failure at each step (a glob, "@N" for its N-th call), from
# the current kernel state.
inject_each() {
  local backend=$1 state=$2 step nth
  shift 2
  local BEFORE  # each rollback must bring back this same state: one fingerprint for the series
  BEFORE=$(fingerprint)
  for step in "$@"; do
    nth=1
    if [[ $step == *@[0-9] ]]; then nth=${step##*@}; step=${step%@*}; fi
    apply_fails "$backend, $state, failing '$step' (call $nth)" "injected failure" DFW_FAIL="$step" DFW_NTH="$nth"
  done
}

# The policy routing comes first, before either backend touches anything: its steps are tried with
# the nft backend only (the same code undoes them for iptables).
ROUTING_STEPS=("ip -4 rule add *" "ip -4 route add *" "ip -6 rule add *" "ip -6 route add *")
# The iptables backend's steps, in order, from a clean kernel ...
IPT_CLEAN=("ipset restore" "ipset rename dnsfence-allow-v6-new *" "iptables-restore *" "ip6tables-restore *"
  "iptables -w -t filter -I *" "iptables -w -t mangle -I *" "ip6tables -w -t filter -I *")
# ... and over redirect mode: ipsets swapped, the forward jumps already there, then (second
# restore of each family) redirect's nat chains deleted with their jumps.
IPT_AFTER_REDIRECT=("ipset restore" "ipset swap dnsfence-allow-v6-new *" "iptables-restore *" "ip6tables-restore *"
  "iptables -w -t mangle -I *" "ip6tables -w -t mangle -I *" "iptables-restore *@2" "ip6tables-restore *@2")

rollback_backend() {  # rollback_backend nft|iptables
  local b=$1
  UPSTREAM=127.0.0.1:5391 write_config tproxy "$b"
  cp "$CONF" "$WORK/tproxy.toml"
  if [ "$b" = nft ]; then
    inject_each nft clean "${ROUTING_STEPS[@]}"
  else
    inject_each iptables clean "${IPT_CLEAN[@]}"
  fi
  # From redirect mode with another allowlist: the old table, chains and ipsets must come back.
  write_config redirect "$b"
  sed -i 's/^addresses = .*/addresses = ["198.51.100.99", "10.0.0.0\/8"]/' "$CONF"
  fw apply
  cp "$WORK/tproxy.toml" "$CONF"
  if [ "$b" = nft ]; then
    inject_each nft "after redirect" "${ROUTING_STEPS[@]}"
  else
    inject_each iptables "after redirect" "${IPT_AFTER_REDIRECT[@]}"
  fi
  # The same apply without a failure works, replaces redirect mode entirely, and status agrees.
  fw apply 2>/dev/null
  fw status >/dev/null || fail "$b: status after a clean apply over redirect mode is not in sync"
  fw remove
  pass "$b: every injected failure rolled back; then a clean apply, in sync"
}

# An nft transaction that the kernel refuses: table inet dnsfence owned (flags owner) by another
# process; the policy routing added before it must go.
nft_refused() {
  UPSTREAM=127.0.0.1:5391 write_config tproxy nft
  # Started by `ip netns exec` itself (which execs python3), not through a shell function: $! must
  # be the holder's own PID, or stop_pid would leave it running.
  ip netns exec dfw-srv python3 -c '
import ctypes, signal, sys
lib = ctypes.CDLL("libnftables.so.1")
lib.nft_ctx_new.restype = ctypes.c_void_p
ctx = ctypes.c_void_p(lib.nft_ctx_new(0))
print("held" if lib.nft_run_cmd_from_buffer(ctx, b"add table inet dnsfence { flags owner; }") == 0 else "failed", flush=True)
signal.pause()' >"$WORK/owner.out" 2>&1 &
  local holder=$!
  PIDS+=("$holder")
  wait_for "a process owns table inet dnsfence" grep -q held "$WORK/owner.out"
  apply_fails "nft transaction refused (a table owned by another process)" "libnftables: "
  stop_pid "$holder"
}

scenario_rollback() {
  make_fakebin
  rollback_backend nft
  nft_refused
  rollback_backend iptables
  # A route of the operator's in the tproxy table: refused before anything is added.
  UPSTREAM=127.0.0.1:5391 write_config tproxy nft
  in_ns dfw-srv ip -6 route add unreachable default table 100
  apply_fails "conflicting route in table 100" "table 100 already holds a route that is not dnsfence's"
  in_ns dfw-srv ip -6 route del unreachable default table 100
  # A tool missing from PATH: refused before anything is touched.
  write_config tproxy iptables
  mkdir -p "$WORK/partial"
  for tool in ip ipset iptables ip6tables iptables-restore iptables-save ip6tables-save; do
    ln -sf "$(command -v "$tool")" "$WORK/partial/$tool"
  done
  apply_fails "ip6tables-restore missing" "cannot run ip6tables-restore: not found in PATH" PATH="$WORK/partial"
  # (remove leaves the empty built-in tables iptables-nft created, as any iptables use does)
  grep -iE "dnsfence|fwmark|table 100" <<<"$(fingerprint)" && fail "something of dnsfence's is left"
  pass "nothing of dnsfence's is left in the kernel"
}
