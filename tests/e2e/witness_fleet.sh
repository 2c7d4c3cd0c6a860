#!/usr/bin/env bash
# End-to-end: a witness fleet, as a leak-test zone is really served (RFC 2182: two name servers or
# more). Two `dnsfence witness serve` instances (ns1, ns2) share one real redis-server; a real
# recursive resolver (unbound) knows both and spreads one run's probe queries over them. In
# namespaces this script creates and removes (documentation and private addresses only):
#
#   client 10.54.1.2 --- 10.54.1.1 resolver 198.51.100.2 ---+--- 198.51.100.53 ns1 (witness, API :8053)
#                                                (bridge)    +--- 198.51.100.54 ns2 (witness, API :8053)
#                                                            +--- 198.51.100.60 redis-server :6379
# 1. One run, its probe names asked through unbound: both instances answered some, and each
#    instance's API shows the whole run (every probe name, from the resolver's address).
# 2. kill -9 of ns2 mid-run: what it had recorded (its /status says written) is in Redis, and the
#    run goes on through ns1.
# 3. Redis stopped mid-run (a restart: SHUTDOWN SAVE, later started again on its dump): DNS keeps
#    answering, the API says 503 meanwhile, and once Redis is back the record is complete.
# Usage: witness_fleet.sh PATH/TO/dnsfence      (root; exits 77 = skipped when tools are missing)
set -euo pipefail
bin=$(readlink -f "${1:?usage: $0 PATH/TO/dnsfence}")
here=$(cd "$(dirname "$0")" && pwd)

C=dff-client R=dff-resolver L=dff-lan N1=dff-ns1 N2=dff-ns2 D=dff-redis
# shellcheck source=tests/e2e/lib.sh
source "$here/lib.sh"
lt_require unbound kdig curl jq redis-server redis-cli
lt_begin dff $C $R $L $N1 $N2 $D
ZONE=fleet.witness.example

veth $C eth0 10.54.1.2/24 $R down0 10.54.1.1/24
nx $L ip link add br0 type bridge
nx $L ip link set br0 up
port=0
for pair in "$R 198.51.100.2" "$N1 198.51.100.53" "$N2 198.51.100.54" "$D 198.51.100.60"; do
  read -r ns addr <<<"$pair"
  port=$((port + 1))
  ip link add lan0 netns "$ns" type veth peer name "p$port" netns $L
  nx "$ns" ip addr add "$addr/24" dev lan0
  nx "$ns" ip link set lan0 up
  nx $L ip link set "p$port" master br0 up
done

fail() {
  echo "FAIL: $*"
  for f in "$work"/*.log "$work"/*.out; do [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }; done
  exit 1
}

# Redis: nothing on disk but the dump this test asks for when it stops it.
mkdir -p "$work/redis"
start_redis() {
  ip netns exec $D redis-server --bind 198.51.100.60 --port 6379 --protected-mode no --save '' --appendonly no \
    --dir "$work/redis" --logfile "$work/redis.log" &
  REDIS_PID=$!
  pids+=($REDIS_PID)
  wait_for 10 nx $D redis-cli -h 198.51.100.60 ping
}
start_redis

(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/witness.key")
for i in 1 2; do
  addr=198.51.100.5$((i + 2))
  cat >"$work/ns$i.toml" <<TOML
[witness]
zone = "$ZONE"
listen = ["$addr:53"]
api = "$addr:8053"
operator = "127.0.0.1:9154"
answer_a = ["192.0.2.80"]
run_ttl = 600
store = "redis://198.51.100.60:6379"
key_file = "$work/witness.key"
[[witness.ns]]
name = "ns1.$ZONE"
addresses = ["198.51.100.53"]
[[witness.ns]]
name = "ns2.$ZONE"
addresses = ["198.51.100.54"]
TOML
done
ip netns exec $N1 "$bin" witness serve --config "$work/ns1.toml" --user nobody >"$work/ns1.log" 2>&1 &
pids+=($!)
ip netns exec $N2 "$bin" witness serve --config "$work/ns2.toml" --user nobody >"$work/ns2.log" 2>&1 &
NS2_PID=$!
pids+=($NS2_PID)

# The resolver knows both name servers of the zone and picks among them at random (their round
# trip times are alike), as resolvers do with a delegation.
cat >"$work/unbound.conf" <<CONF
server:
  interface: 10.54.1.1
  port: 53
  do-ip6: no
  chroot: ""
  username: ""
  pidfile: ""
  directory: "$work"
  use-syslog: no
  logfile: "$work/unbound.log"
  num-threads: 1
  module-config: "iterator"
  qname-minimisation: no
  access-control: 10.54.1.0/24 allow
  outgoing-interface: 198.51.100.2
  do-not-query-localhost: no
stub-zone:
  name: "$ZONE."
  stub-addr: 198.51.100.53
  stub-addr: 198.51.100.54
remote-control:
  control-enable: no
CONF
ip netns exec $R unbound -d -c "$work/unbound.conf" >"$work/unbound.out" 2>&1 &
pids+=($!)

api() { local i=$1 ns=$N1; shift; [[ $i == 2 ]] && ns=$N2; nx "$ns" curl -sS --max-time 5 "$@"; }
api_url() { echo "http://198.51.100.5$(($1 + 2)):8053"; }
metric() {  # metric NS_INDEX NAME: a sample's value from that instance's operator listener
  local ns=$N1
  [[ $1 == 2 ]] && ns=$N2
  nx $ns curl -sf --max-time 2 http://127.0.0.1:9154/metrics | awk -v m="$2" '$1 == m { print $2 }'
}
written() { local ns=$N1; [[ $1 == 2 ]] && ns=$N2; nx $ns curl -sf http://127.0.0.1:9154/status | jq .store.written; }
new_run() { api "$1" -f -X POST -d "{\"count\": $2}" "$(api_url "$1")/runs"; }
results() { api "$1" -f "$(api_url "$1")/runs/$2"; }
ask() { nx $C kdig +time=2 +retry=1 +short @10.54.1.1 A "$1"; }
# names_seen INSTANCE RUN: how many distinct probe names the resolver's address asked, per that API
names_seen() {
  results "$1" "$2" | jq '[.resolvers[] | select(.address == "198.51.100.2") | .names[]] | unique | length'
}
seen_is() { [[ $(names_seen "$1" "$2") == "$3" ]]; }  # for wait_for, which re-runs its command
written_at_least() { (($(written "$1") >= $2)); }

wait_for 10 api 1 -f "$(api_url 1)/healthz"
wait_for 10 api 2 -f "$(api_url 2)/healthz"
wait_for 10 nx $C kdig +time=1 +retry=0 @10.54.1.1 "$ZONE" SOA
echo "fleet up after ${SECONDS}s"

# 1. One run through the resolver: both instances answer part of it; either API shows all of it.
run=$(new_run 1 16)
RUN=$(jq -r .run <<<"$run")
mapfile -t probes < <(jq -r '.probes[]' <<<"$run")
for p in "${probes[@]}"; do [[ $(ask "$p") == 192.0.2.80 ]] || fail "no answer for $p"; done
a1=$(metric 1 'dnsfence_witness_queries_total{outcome="answer"}')
a2=$(metric 2 'dnsfence_witness_queries_total{outcome="answer"}')
echo "answers: ns1 $a1, ns2 $a2"
((a1 > 0 && a2 > 0)) || fail "the resolver did not spread the run over both instances (ns1 $a1, ns2 $a2)"
for i in 1 2; do
  wait_for 5 seen_is "$i" "$RUN" 16
  [[ $(results "$i" "$RUN" | jq -r '[.resolvers[].address] | join(",")') == 198.51.100.2 ]] ||
    fail "ns$i: $(results "$i" "$RUN")"
done
echo "1: 16 probe names answered by both instances; both APIs show all 16"

# 2. kill -9 of ns2 mid-run: what it had written is in Redis; the run goes on through ns1.
run=$(new_run 2 8)
RUN=$(jq -r .run <<<"$run")
mapfile -t probes < <(jq -r '.probes[]' <<<"$run")
before=$(written 2)
for p in "${probes[@]:0:4}"; do
  [[ $(nx $R kdig +time=2 +retry=0 +short @198.51.100.54 A "$p") == 192.0.2.80 ]] || fail "ns2 did not answer $p"
done
wait_for 5 written_at_least 2 $((before + 4))  # ns2 says it wrote them
kill -KILL $NS2_PID
wait $NS2_PID 2>/dev/null || true
[[ $(results 1 "$RUN" | jq '[.resolvers[] | select(.address == "198.51.100.2") | .names[]] | length') == 4 ]] ||
  fail "after kill -9, ns1 does not show what ns2 wrote: $(results 1 "$RUN")"
for p in "${probes[@]:4}"; do [[ $(ask "$p") == 192.0.2.80 ]] || fail "no answer for $p with ns2 dead"; done
wait_for 5 seen_is 1 "$RUN" 8
echo "2: ns2 killed after writing 4 names; ns1 shows them and the run completed through ns1"

# 3. Redis restarts mid-run: DNS keeps answering; the record is complete once Redis is back.
run=$(new_run 1 8)
RUN=$(jq -r .run <<<"$run")
mapfile -t probes < <(jq -r '.probes[]' <<<"$run")
for p in "${probes[@]:0:4}"; do [[ $(ask "$p") == 192.0.2.80 ]] || fail "no answer for $p"; done
wait_for 5 seen_is 1 "$RUN" 4
nx $D redis-cli -h 198.51.100.60 shutdown save >/dev/null 2>&1 || true
wait $REDIS_PID 2>/dev/null || true
for p in "${probes[@]:4}"; do [[ $(ask "$p") == 192.0.2.80 ]] || fail "no answer for $p while Redis was down"; done
code=$(api 1 -o /dev/null -w '%{http_code}' "$(api_url 1)/runs/$RUN")
[[ $code == 503 ]] || fail "GET while Redis is down: HTTP $code, want 503"
[[ $(metric 1 dnsfence_witness_store_connected) == 0 ]] || fail "ns1 does not report Redis as away"
start_redis
wait_for 10 seen_is 1 "$RUN" 8
[[ $(results 1 "$RUN" | jq .incomplete) == false ]] || fail "marked incomplete: $(results 1 "$RUN")"
echo "3: 4 names answered while Redis was down; after its restart the run holds all 8"
echo "PASS in ${SECONDS}s"
