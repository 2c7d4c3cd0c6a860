#!/usr/bin/env bash
# The witness's DNS over TCP under 100 connections that trickle one octet a second, from 100
# loopback addresses, reconnecting whenever they are closed (issue 14): an honest TCP query must
# still be answered, within 3 s. Before io::TcpServer every octet restarted the idle timer, nothing
# bounded a connection's life and the 64 slots stayed taken: the honest client was closed at once.
# Usage: tests/e2e/witness_trickle.sh DNSFENCE_BINARY
DNSFENCE=${1:?dnsfence binary}
export DNSFENCE
source "$(dirname "$0")/serve/lib.sh"
command -v python3 >/dev/null || { echo "skipped: no python3"; exit 77; }

ADDR=127.0.58.1
PORT=$(free_port $ADDR) APORT=$(free_port 127.0.0.1) OPORT=$(free_port 127.0.0.1)
"$DNSFENCE" witness serve --zone witness.example --listen "$ADDR:$PORT" --api "127.0.0.1:$APORT" --operator "127.0.0.1:$OPORT" --user nobody \
  >"$WORK/witness.log" 2>&1 &
WPID=$!
PIDS+=("$WPID")
wait_until 10 sh -c "kdig @$ADDR -p $PORT +time=1 +retry=0 +tcp witness.example SOA | grep -q 'status: NOERROR'"
python3 "$(dirname "$0")/serve/hostile.py" trickle --server "$ADDR:$PORT" --pid "$WPID" --name witness.example \
  --sources 102 >"$WORK/hostile.out" 2>&1 || true
cat "$WORK/hostile.out"
check "hostile.py ran to the end" grep -q "^done" "$WORK/hostile.out"
while read -r _ verdict what; do
  if [[ $verdict == OK ]]; then pass "$what"; else fail "$what"; fi
done < <(grep "^check" "$WORK/hostile.out")
check "the witness survived" alive "$WPID"
check "trickling connections closed as idle (metrics)" \
  test "$(metric "127.0.0.1:$OPORT" 'dnsfence_witness_tcp_closed_total\{reason="idle"\}')" -gt 0
finish
