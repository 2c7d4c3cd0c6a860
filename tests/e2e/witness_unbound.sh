#!/usr/bin/env bash
# End-to-end: `dnsfence witness serve` behind a real recursive resolver (unbound), in namespaces
# this script creates and removes. It shows that the witness records the resolver's egress address
# (never the client's), that the TXT evidence says the same in-band, that a forged token is never
# recorded, and that a query sent to a "stealth" resolver (logs, never forwards, never answers)
# leaves no record at all. Also exercises UDP+TCP over IPv4 and IPv6, metrics, sd_notify and SIGTERM.
#
#   client 10.53.1.2 --- 10.53.1.1 resolver 198.51.100.2 / fd00:53:1::2 --- 198.51.100.53 (+.54) / fd00:53:1::53 auth
#   client 10.53.2.2 --- 10.53.2.1 stealth  192.0.2.2                      --- 192.0.2.53                   auth
#
# Usage: witness_unbound.sh PATH/TO/dnsfence      (root; exits 77 = skipped when tools are missing)
set -euo pipefail

BIN=$(readlink -f "${1:?usage: $0 PATH/TO/dnsfence}")
NS=(dfw-client dfw-resolver dfw-stealth dfw-auth)
ZONE=witness.example  # not .test: unbound serves test. itself (RFC 6761 default local zone)
API=http://127.0.0.1:8053
OPS=http://127.0.0.1:9154  # the operator listener: metrics
PIDS=()
TMP=""

log() { echo "e2e witness: $*"; }
fail() {
  echo "e2e witness: FAIL: $*" >&2
  for f in "$TMP"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done
  exit 1
}
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

for tool in ip unbound kdig jq curl /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "skipped: $tool missing"; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root (network namespaces)"; exit 77; }

stop_pid() {  # stop_pid PID: TERM, then KILL after 2 s; only PIDs this script started
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 20); do
    grep -qs '^State:.*Z' "/proc/$pid/status" && break
    [ -e "/proc/$pid" ] || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

teardown() {
  local pid ns
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  clean_leftovers  # anything else still inside our namespaces was started by this script
  for ns in "${NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  [ -n "$TMP" ] && rm -rf "$TMP"
}

clean_leftovers() {  # a previous run that died: its processes live only in our own namespaces
  local ns pid
  for ns in "${NS[@]}"; do
    grep -qw "^$ns" <<<"$(ip netns list)" || continue
    for pid in $(ip netns pids "$ns"); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns"
  done
}

link() {  # link NS_A IF_A ADDR_A NS_B IF_B ADDR_B [ADDR6_A ADDR6_B]
  ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
  in_ns "$1" ip addr add "$3" dev "$2"
  in_ns "$4" ip addr add "$6" dev "$5"
  if [ $# -ge 8 ]; then
    in_ns "$1" ip addr add "$7" dev "$2" nodad
    in_ns "$4" ip addr add "$8" dev "$5" nodad
  fi
  in_ns "$1" ip link set "$2" up
  in_ns "$4" ip link set "$5" up
}

topology() {
  local ns
  for ns in "${NS[@]}"; do
    ip netns add "$ns"
    in_ns "$ns" ip link set lo up
  done
  link dfw-client dfwc-r 10.53.1.2/24 dfw-resolver dfwr-c 10.53.1.1/24
  link dfw-client dfwc-s 10.53.2.2/24 dfw-stealth dfws-c 10.53.2.1/24
  link dfw-resolver dfwr-a 198.51.100.2/24 dfw-auth dfwa-r 198.51.100.53/24 fd00:53:1::2/64 fd00:53:1::53/64
  link dfw-stealth dfws-a 192.0.2.2/24 dfw-auth dfwa-s 192.0.2.53/24
  in_ns dfw-auth ip addr add 198.51.100.54/24 dev dfwa-r  # a secondary address on the same link
}

write_configs() {
  cat >"$TMP/witness.toml" <<TOML
[witness]
zone = "$ZONE"
listen = ["0.0.0.0:53", "[::]:53"]  # wildcards: replies must still leave from the address asked
api = "127.0.0.1:8053"
operator = "127.0.0.1:9154"
answer_a = ["192.0.2.80"]
run_ttl = 300
max_runs = 16
max_resolvers_per_run = 8
[[witness.ns]]
name = "ns1.$ZONE"
addresses = ["198.51.100.53", "fd00:53:1::53"]
[[witness.ns_v4]]
name = "ns4.$ZONE"
addresses = ["198.51.100.53"]
[[witness.ns_v6]]
name = "ns6.$ZONE"
addresses = ["fd00:53:1::53"]
TOML
  (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TMP/witness.key")
  local common="do-daemonize: no
  username: \"\"
  chroot: \"\"
  directory: \"$TMP\"
  pidfile: \"\"
  use-syslog: no
  port: 53
  module-config: \"iterator\"
  qname-minimisation: no
  do-not-query-localhost: no"
  cat >"$TMP/resolver.conf" <<CONF
server:
  $common
  logfile: "$TMP/resolver.log"
  interface: 10.53.1.1
  outgoing-interface: 198.51.100.2
  outgoing-interface: fd00:53:1::2
  access-control: 10.53.1.0/24 allow
stub-zone:
  name: "$ZONE"
  stub-addr: 198.51.100.53
CONF
  # The Stealth server: it logs every query and never answers or forwards (lab notes, pitfall 7).
  cat >"$TMP/stealth.conf" <<CONF
server:
  $common
  logfile: "$TMP/stealth.log"
  log-queries: yes
  interface: 10.53.2.1
  access-control: 10.53.2.0/24 allow
  access-control-view: 10.53.2.0/24 blackhole
view:
  name: "blackhole"
  local-zone: "." deny
stub-zone:
  name: "$ZONE"
  stub-addr: 192.0.2.53
CONF
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: poll every 0.1 s until COMMAND succeeds
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "timed out waiting for $what"
    sleep 0.1
  done
}

start() {  # start NAME NS COMMAND...: runs in the background, records its PID
  local name=$1 ns=$2
  shift 2
  # Not through in_ns: a backgrounded function is a subshell, and $! would be that shell, not
  # the daemon (ip netns exec execs the command, so $! is the daemon itself).
  ip netns exec "$ns" "$@" >"$TMP/$name.log" 2>&1 &
  PIDS+=("$!")
  eval "PID_${name//-/_}=$!"
}

api() { in_ns dfw-auth "$BIN" witness "$@" --api "$API"; }
results() { api results "$1" --json; }
dig_client() { in_ns dfw-client kdig +timeout=2 +retry=0 "$@"; }

clean_leftovers
trap teardown EXIT
TMP=$(mktemp -d /tmp/dfw-e2e.XXXXXX)
chmod 755 "$TMP"
topology
write_configs

# A stand-in for systemd's notify socket: it logs each sd_notify datagram, exits by itself.
start notify dfw-auth /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(1)
end = time.time() + 50
while time.time() < end:
    try: m = s.recv(4096).decode()
    except socket.timeout: continue
    print(m.replace("\n", " "), flush=True)
    if "STOPPING=1" in m: break
' "$TMP/notify.sock"
wait_for 5 "the notify socket" test -S "$TMP/notify.sock"
NOTIFY_SOCKET="$TMP/notify.sock" start witness dfw-auth "$BIN" witness serve --config "$TMP/witness.toml" \
  --key-file "$TMP/witness.key"
in_ns dfw-auth "$BIN" witness serve --config "$TMP/witness.toml" --check-config >/dev/null || fail "--check-config"
start resolver dfw-resolver unbound -d -c "$TMP/resolver.conf"
start stealth dfw-stealth unbound -d -c "$TMP/stealth.conf"
wait_for 10 "the witness API" in_ns dfw-auth curl -sf "$API/healthz"
wait_for 5 "READY=1 from the witness" grep -q "READY=1" "$TMP/notify.log"
wait_for 10 "the resolver" sh -c "ip netns exec dfw-client kdig +timeout=1 +retry=0 @10.53.1.1 $ZONE SOA | grep -q NOERROR"
wait_for 10 "the stealth resolver" grep -q "start of service" "$TMP/stealth.log"
log "topology, witness and both resolvers up after ${SECONDS}s"

# 1. Through the real resolver: the witness records unbound's egress address, not the client's.
run=$(api new-run --json)
RUN=$(jq -r .run <<<"$run")
PROBE=$(jq -r '.probes[0]' <<<"$run")
[ "$(dig_client @10.53.1.1 +short A "$PROBE")" = "192.0.2.80" ] || fail "A answer through unbound"
txt=$(dig_client @10.53.1.1 +short TXT "$(jq -r '.probes[1]' <<<"$run")")
grep -q '"resolver=198.51.100.2"' <<<"$txt" || fail "TXT evidence names the resolver: $txt"
res=$(results "$RUN")
[ "$(jq -r '[.resolvers[].address] | join(",")' <<<"$res")" = "198.51.100.2" ] || fail "recorded: $res"
grep -q '10\.53\.1\.2' <<<"$res" && fail "the client's address was recorded: $res"
[ "$(jq -r '.resolvers[0].types | sort | join(",")' <<<"$res")" = "A,TXT" ] || fail "types: $res"
log "resolver path: recorded 198.51.100.2 only (types A,TXT); TXT evidence in-band"

# 2. A forged token through the same resolver: NXDOMAIN, nothing recorded.
forged="$(printf 'a%.0s' $(seq 40)).$ZONE"  # token-shaped: 40 base32 characters
grep -q NXDOMAIN <<<"$(dig_client @10.53.1.1 A "$forged")" || fail "forged token not NXDOMAIN"
grep -q 'dnsfence_witness_queries_total{outcome="forged"} [1-9]' <<<"$(in_ns dfw-auth curl -sf "$OPS/metrics")" ||
  fail "forged query not counted"
[ "$(results "$RUN" | jq '.resolvers[0].count')" = 2 ] || fail "forged query changed the run"

# 3. The Stealth case: the query reaches a resolver that logs it and never forwards: no record.
run2=$(api new-run --json)
RUN2=$(jq -r .run <<<"$run2")
PROBE2=$(jq -r '.probes[0]' <<<"$run2")
dig_client @10.53.2.1 A "$PROBE2" >"$TMP/stealth-kdig.log" 2>&1 || true
grep -q 'NOERROR\|NXDOMAIN' "$TMP/stealth-kdig.log" && fail "the stealth resolver answered"
wait_for 5 "the stealth resolver's log of the probe" grep -qi "${PROBE2%.}" "$TMP/stealth.log"
# Once the resolver path (a fresh probe of run 1) is recorded, anything the stealth resolver had
# forwarded would have been recorded too.
dig_client @10.53.1.1 +short A "$(jq -r '.probes[2]' <<<"$run")" >/dev/null
[ "$(results "$RUN2" | jq '.resolvers | length')" = 0 ] || fail "stealth probe left a record: $(results "$RUN2")"
log "stealth path: the stealth server logged the probe; the witness recorded nothing"

# 4. The witness directly: UDP to its secondary address (the reply must come from it, or kdig
#    drops it), TCP over IPv6, and the noreply label.
grep -q NOERROR <<<"$(in_ns dfw-resolver kdig +timeout=2 +retry=0 @198.51.100.54 "$ZONE" SOA)" ||
  fail "no reply from the secondary address (IP_PKTINFO)"
tcp6=$(in_ns dfw-resolver kdig +tcp +short @fd00:53:1::53 TXT "$(jq -r '.probes[3]' <<<"$run")")
grep -q '"resolver=fd00:53:1::2" "port=[0-9]*" "transport=tcp"' <<<"$tcp6" || fail "TCP/IPv6 evidence: $tcp6"
in_ns dfw-resolver kdig +timeout=1 +retry=0 @198.51.100.53 A "noreply.$PROBE" >/dev/null 2>&1 &&
  fail "noreply was answered"
res=$(results "$RUN")
[ "$(jq -r '[.resolvers[].address] | join(",")' <<<"$res")" = "198.51.100.2,fd00:53:1::2" ] || fail "after TCP: $res"
[ "$(jq -r '.resolvers[1].transports | join(",")' <<<"$res")" = "tcp" ] || fail "transports: $res"
log "direct: TCP over IPv6 recorded with in-band evidence; noreply never answered"

# 5. The IPv6-only name server set: unbound asks over IPv4 (its stub address), is referred to
#    ns6 (AAAA glue only), and must come back over IPv6; the IPv4-only set is answered at once.
run3=$(api new-run --json)
RUN3=$(jq -r .run <<<"$run3")
[ "$(dig_client @10.53.1.1 +short A "$(jq -r '.probes_v6[0]' <<<"$run3")")" = "192.0.2.80" ] || fail "v6-only probe"
[ "$(results "$RUN3" | jq -r '[.resolvers[].address] | join(",")')" = "fd00:53:1::2" ] ||
  fail "v6-only probe recorded: $(results "$RUN3")"
[ "$(dig_client @10.53.1.1 +short A "$(jq -r '.probes_v4[0]' <<<"$run3")")" = "192.0.2.80" ] || fail "v4-only probe"
[ "$(results "$RUN3" | jq -r '[.resolvers[].address] | join(",")')" = "fd00:53:1::2,198.51.100.2" ] ||
  fail "v4-only probe recorded: $(results "$RUN3")"
grep -q 'dnsfence_witness_queries_total{outcome="referral"} [1-9]' <<<"$(in_ns dfw-auth curl -sf "$OPS/metrics")" ||
  fail "no referral counted"
log "family-only sets: the v6 probe came over IPv6 after a referral, the v4 probe over IPv4"

# 6. SIGTERM: a clean shutdown.
kill -TERM "$PID_witness"
rc=0
wait "$PID_witness" || rc=$?
[ $rc -eq 0 ] || fail "witness exited $rc on SIGTERM"
grep -q "stopping" "$TMP/witness.log" || fail "no clean shutdown message"
wait_for 5 "STOPPING=1 from the witness" grep -q "STOPPING=1" "$TMP/notify.log"
log "PASS in ${SECONDS}s"
