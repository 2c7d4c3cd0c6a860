#!/usr/bin/env bash
# A truncated UDP answer from the upstream is asked again over TCP: a real unbound that truncates
# every UDP answer above 512 octets (max-udp-size) serves a ~680-octet TXT RRset; kdig asks
# dnsfence serve over UDP with a 4096-octet EDNS buffer and must get the whole RRset over UDP,
# counted in dnsfence_upstream_tcp_retries_total. A client with a 600-octet buffer gets TC (and
# then the whole RRset over TCP); a client without EDNS gets the upstream's TC answer, no retry.
# Usage: DNSFENCE=build/apps/dnsfence/dnsfence tests/e2e/serve/truncation.sh
source "$(dirname "$0")/lib.sh"

UP=127.0.56.1 LISTEN=127.0.56.10
UPORT=$(free_port $UP) PORT=$(free_port $LISTEN) MPORT=$(free_port 127.0.0.1)
M=127.0.0.1:$MPORT
UNBOUND_EXTRA="  max-udp-size: 512" start_unbound up $UP "$UPORT"
check "the upstream itself truncates over UDP" grep -qiE "flags:.* tc" <<<"$(q $UP "$UPORT" big.example TXT +bufsize=4096 +ignore)"

cat >"$WORK/dnsfence.toml" <<CONF
[serve]
listen = ["$LISTEN:$PORT"]
upstreams = ["$UP:$UPORT"]
workers = 1
metrics = "$M"
user = "root"  # said explicitly: the test's files are in a root-only temporary directory
CONF
"$DNSFENCE" serve --config "$WORK/dnsfence.toml" >"$WORK/serve.log" 2>&1 &
PIDS+=("$!")
wait_until 10 sh -c "kdig @$LISTEN -p $PORT +time=1 +retry=0 www.example +short | grep -q 192.0.2.10"
retries() { metric "$M" 'dnsfence_upstream_tcp_retries_total'; }

full=$(q $LISTEN "$PORT" big.example TXT +bufsize=4096 +notcp +ignore)
check "UDP client with 4096 octets gets the whole RRset over UDP" grep -q "ANSWER: 3;" <<<"$full"
check "... without TC" bash -c "! grep -qiE 'flags:.* tc' <<<'$full'"
check "... over UDP" grep -q "(UDP)" <<<"$full"
check "the retry is counted" test "$(retries)" = 1

cut=$(q $LISTEN "$PORT" big.example TXT +bufsize=600 +ignore)
check "UDP client with 600 octets gets TC and no records" bash -c \
  "grep -qiE 'flags:.* tc' <<<'$cut' && grep -q 'ANSWER: 0;' <<<'$cut' && grep -q 'UDP size' <<<'$cut'"
check "... after a retry" test "$(retries)" = 2
check "... and then gets the whole RRset over TCP itself" \
  test "$(q $LISTEN "$PORT" big.example TXT +bufsize=600 +short | grep -c '^"')" = 3

noedns=$(q $LISTEN "$PORT" big.example TXT +noedns +ignore)
check "client without EDNS gets TC" grep -qiE "flags:.* tc" <<<"$noedns"
check "TCP client gets the whole RRset" test "$(q $LISTEN "$PORT" big.example TXT +tcp +short | grep -c '^"')" = 3
check "no retry for a client without EDNS or on TCP" test "$(retries)" = 3
check "small answers are not retried" grep -q 192.0.2.10 <<<"$(q $LISTEN "$PORT" www.example A +bufsize=4096 +short)"
check "... still 3 retries" test "$(retries)" = 3
check "nothing timed out" test "$(metric "$M" 'dnsfence_queries_total\{.*action="timeout"')" = 0
finish
