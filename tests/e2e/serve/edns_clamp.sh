#!/usr/bin/env bash
# The EDNS payload size serve forwards is clamped to what it can receive (4096 octets): a real
# unbound that answers over UDP as large as the client allows (max-udp-size: 65536) serves a
# ~6 KB TXT RRset; a client asking serve over UDP with a 65,535-octet buffer must get at once an
# answer cut to 4096 with TC (then the whole RRset over TCP), never a SERVFAIL after
# upstream_timeout_ms (before the clamp, unbound's 6 KB datagram was cut by serve's receive buffer
# and dropped as malformed, and the client waited).
# Usage: DNSFENCE=build/apps/dnsfence/dnsfence tests/e2e/serve/edns_clamp.sh
source "$(dirname "$0")/lib.sh"
command -v unbound >/dev/null || { echo "skipped: no unbound"; exit 77; }

UP=127.0.59.1 LISTEN=127.0.59.10
UPORT=$(free_port $UP) PORT=$(free_port $LISTEN) MPORT=$(free_port 127.0.0.1)
M=127.0.0.1:$MPORT
long=$(printf 'y%.0s' {1..200})
extra="  max-udp-size: 65536"
for i in $(seq 1 30); do extra+=$'\n'"  local-data: \"huge.example. 300 IN TXT \\\"$i$long\\\"\""; done
UNBOUND_EXTRA=$extra start_unbound up $UP "$UPORT"
direct=$(q $UP "$UPORT" huge.example TXT +bufsize=65535 +ignore)
check "unbound itself answers 6 KB over UDP" grep -q "ANSWER: 30;" <<<"$direct"

cat >"$WORK/dnsfence.toml" <<CONF
[serve]
listen = ["$LISTEN:$PORT"]
upstreams = ["$UP:$UPORT"]
workers = 1
upstream_timeout_ms = 3000
metrics = "$M"
user = "nobody"
CONF
"$DNSFENCE" serve --config "$WORK/dnsfence.toml" >"$WORK/serve.log" 2>&1 &
PIDS+=("$!")
wait_until 10 sh -c "kdig @$LISTEN -p $PORT +time=1 +retry=0 www.example +short | grep -q 192.0.2.10"

start=$(date +%s%N)
cut=$(q $LISTEN "$PORT" huge.example TXT +bufsize=65535 +ignore)
ms=$((($(date +%s%N) - start) / 1000000))
echo "UDP answer to a 65,535-octet buffer in $ms ms:"
grep -E "status|flags|UDP size|Received" <<<"$cut"
check "no SERVFAIL" bash -c "! grep -q 'status: SERVFAIL' <<<'$cut'"
check "an answer with TC, at once ($ms ms)" bash -c "grep -qiE 'flags:.* tc' <<<'$cut' && ((ms < 2000))"
check "the whole RRset over TCP" test "$(q $LISTEN "$PORT" huge.example TXT +bufsize=65535 +short | grep -c '^"')" = 30
check "nothing dropped as malformed" test "$(metric "$M" 'dnsfence_malformed_answers_total')" = 0
check "nothing timed out" test "$(metric "$M" 'dnsfence_queries_total\{.*action="timeout"')" = 0
finish
