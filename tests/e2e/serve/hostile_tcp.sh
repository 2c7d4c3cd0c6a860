#!/usr/bin/env bash
# Hostile DNS-over-TCP clients against `dnsfence serve` on loopback (issue 14), one scenario per
# run, with a real unbound upstream; hostile.py plays the attacker and an honest client, and
# measures what the honest client sees (answered, latency) and what serve spends (CPU from
# /proc/PID/stat, descriptors from /proc/PID/fd, RSS):
#   halfclose  200 connections each send one query to a slow zone and half-close: CPU stays low,
#              and every one still gets its (SERVFAIL) answer
#   pipeline   one connection pipelines 40,000 queries: upstream descriptors and in-flight slots
#              stay bounded, all are answered
#   nonreader  one connection pipelines 200,000 queries and never reads: RSS stays bounded and the
#              connection is closed
#   emfile     serve under `prlimit --nofile=64`, 100 connections held open: no spin on accept,
#              UDP answered throughout, TCP once the idle ones are shed
# Usage: DNSFENCE=build/apps/dnsfence/dnsfence tests/e2e/serve/hostile_tcp.sh SCENARIO
source "$(dirname "$0")/lib.sh"
SCENARIO=${1:?scenario}
for tool in unbound python3 prlimit; do command -v "$tool" >/dev/null || { echo "skipped: no $tool"; exit 77; }; done

UP=127.0.57.1 LISTEN=127.0.57.10 HOLE=127.0.57.99
UPORT=$(free_port $UP) PORT=$(free_port $LISTEN) MPORT=$(free_port 127.0.0.1) HPORT=$(free_port $HOLE)
M=127.0.0.1:$MPORT

# The slow zone's authority: reads and never answers.
python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('$HOLE', $HPORT))
while True: s.recv(4096)
" &
PIDS+=("$!")
cat >"$WORK/up.conf" <<CONF
server:
  interface: $UP@$UPORT
  port: $UPORT
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$WORK"
  pidfile: ""
  use-syslog: no
  logfile: ""
  verbosity: 0
  do-ip6: no
  do-not-query-localhost: no
  incoming-num-tcp: 1000
  access-control: 0.0.0.0/0 allow
  local-zone: "example." static
  local-data: "www.example. 300 IN A 192.0.2.10"
  local-data: "who.example. 300 IN TXT \"up\""
  local-zone: "pipe.example." redirect
  local-data: "pipe.example. 300 IN A 192.0.2.7"
  local-zone: "slow.example." transparent
remote-control:
  control-enable: no
forward-zone:
  name: "slow.example."
  forward-addr: $HOLE@$HPORT
CONF
unbound -d -c "$WORK/up.conf" >"$WORK/up.log" 2>&1 &
PIDS+=("$!")
wait_until 10 sh -c "kdig @$UP -p $UPORT +time=1 +retry=0 who.example TXT +short | grep -q up"

cat >"$WORK/dnsfence.toml" <<CONF
[serve]
listen = ["$LISTEN:$PORT"]
upstreams = ["$UP:$UPORT"]
workers = 1
upstream_timeout_ms = 3000
health_check_interval_ms = 60000
tcp_idle_timeout_ms = 1000
metrics = "$M"
user = "nobody"
CONF
limit=()
[[ $SCENARIO == emfile ]] && limit=(prlimit --nofile=64:64 --)
"${limit[@]}" "$DNSFENCE" serve --config "$WORK/dnsfence.toml" >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
PIDS+=("$SERVE_PID")
wait_until 10 sh -c "kdig @$LISTEN -p $PORT +time=1 +retry=0 www.example +short | grep -q 192.0.2.10"

python3 "$(dirname "$0")/hostile.py" "${SCENARIO/emfile/hold}" --server "$LISTEN:$PORT" --pid "$SERVE_PID" \
  --metrics "$M" --close-within 5 >"$WORK/hostile.out" 2>&1 || true
cat "$WORK/hostile.out"
check "hostile.py ran to the end" grep -q "^done" "$WORK/hostile.out"
while read -r _ verdict what; do
  if [[ $verdict == OK ]]; then pass "$what"; else fail "$what"; fi
done < <(grep "^check" "$WORK/hostile.out")
check "serve survived" alive "$SERVE_PID"
finish
