#!/usr/bin/env bash
# dnsfence serve on loopback with real unbound upstreams and kdig as client: UDP, TCP (pipelined),
# IPv4 and IPv6, canaries, truncation, malformed input, upstream death and recovery, timeouts,
# reload (good and bad), --check-config, and no query names in the log.
# Usage: DNSFENCE=build/apps/dnsfence/dnsfence tests/e2e/serve/loopback.sh
# shellcheck disable=SC2154  # up1_PID and up2_PID are set by start_unbound (eval)
source "$(dirname "$0")/lib.sh"

UP1=127.0.53.1 UP2=127.0.53.2 LISTEN=127.0.53.10
P1=$(free_port $UP1) P2=$(free_port $UP2) PORT=$(free_port $LISTEN) MPORT=$(free_port 127.0.0.1)
start_unbound up1 $UP1 "$P1"
start_unbound up2 $UP2 "$P2"

write_config() {  # write_config EXTRA-TOML
  cat >"$WORK/dnsfence.toml" <<CONF
[serve]
listen = ["$LISTEN:$PORT", "[::1]:$PORT"]
upstreams = ["$UP1:$P1", "$UP2:$P2"]
workers = 2
upstream_timeout_ms = 400
health_check_interval_ms = 200
tcp_idle_timeout_ms = 1000
tcp_max_connections = 4
udp_receive_buffer = 1048576
metrics = "127.0.0.1:$MPORT"
user = "root"  # said explicitly: the test's files are in a root-only temporary directory
[[serve.names]]
name = "blocked.example"
action = "refused"
$1
CONF
}
write_config ""
check "--check-config accepts a good file" "$DNSFENCE" serve --check-config --config "$WORK/dnsfence.toml"
printf '[serve]\nupstreams = ["10.0.0.1"]\nworkers = "two"\n' >"$WORK/bad.toml"
if out=$("$DNSFENCE" serve --check-config --config "$WORK/bad.toml" 2>&1); then
  fail "--check-config refuses a bad file"
else
  check "--check-config names file and line" grep -q "bad.toml:3:" <<<"$out"
fi

# A stand-in for systemd's notification socket records READY, RELOADING and STOPPING.
python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('$WORK/notify')
with open('$WORK/notify.log', 'a', buffering=1) as out:
    while True: out.write(s.recv(4096).decode() + '\\n')
" &
PIDS+=("$!")
wait_until 5 test -S "$WORK/notify"
NOTIFY_SOCKET=$WORK/notify "$DNSFENCE" serve --config "$WORK/dnsfence.toml" >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
PIDS+=("$SERVE_PID")
wait_until 10 sh -c "kdig @$LISTEN -p $PORT +time=1 +retry=0 www.example +short | grep -q 192.0.2.10"
M=127.0.0.1:$MPORT

# "SOCKETS rbBYTES" for each distinct receive buffer size of the UDP listeners (one socket per
# worker); the kernel doubles the size asked for.
rcvbufs() { ss -uamnH "src $LISTEN:$PORT" | grep -o 'rb[0-9]*' | sort | uniq -c | xargs; }
check "udp_receive_buffer on both workers' sockets" test "$(rcvbufs)" = "2 rb2097152"
check "UDP v4 forwarded" grep -q 192.0.2.10 <<<"$(q $LISTEN "$PORT" www.example A +short)"
check "TCP v4 forwarded" grep -q 192.0.2.10 <<<"$(q $LISTEN "$PORT" www.example A +tcp +short)"
check "UDP v6 forwarded" grep -q 2001:db8::10 <<<"$(q ::1 "$PORT" www.example AAAA +short)"
check "TCP v6 forwarded" grep -q 2001:db8::10 <<<"$(q ::1 "$PORT" www.example AAAA +tcp +short)"
check "DoH canary NXDOMAIN" test "$(status_of $LISTEN "$PORT" use-application-dns.net A)" = NXDOMAIN
check "DoH canary NXDOMAIN for HTTPS over TCP" \
  test "$(status_of $LISTEN "$PORT" x.use-application-dns.net TYPE65 +tcp)" = NXDOMAIN
check "DDR NODATA" test "$(status_of $LISTEN "$PORT" _dns.resolver.arpa TYPE64)" = NOERROR
check "DDR has no answer" grep -q "ANSWER: 0" <<<"$(q $LISTEN "$PORT" _dns.resolver.arpa TYPE64)"
check "operator name REFUSED" test "$(status_of $LISTEN "$PORT" a.blocked.example A)" = REFUSED
check "truncated over UDP without EDNS" grep -qiE "flags:.* tc" <<<"$(q $LISTEN "$PORT" big.example TXT +noedns +ignore)"
check "full answer over TCP" test "$(q $LISTEN "$PORT" big.example TXT +tcp +short | wc -l)" = 3
pipelined=$(kdig @$LISTEN -p "$PORT" +tcp +keepopen +time=3 +retry=0 +short www.example A www.example AAAA who.example TXT 2>&1)
check "pipelined TCP queries on one connection" test "$(grep -cE '192.0.2.10|2001:db8::10|up[12]' <<<"$pipelined")" = 3

# RFC 7766: an idle connection is closed after tcp_idle_timeout. At the cap the listeners pause:
# the connections beyond it wait in the kernel's backlog, and the idle time shortens (200 ms at
# the cap), so every one of them is served in turn.
python3 - "$LISTEN" "$PORT" <<'PY'
import socket, struct, sys, time
a = (sys.argv[1], int(sys.argv[2]))
idle = socket.create_connection(a)
idle.settimeout(5)
start = time.monotonic()
assert idle.recv(1) == b"", "idle connection not closed"
assert 0.9 < time.monotonic() - start < 3, time.monotonic() - start
q = struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"\x03www\x07example\x00" + struct.pack(">HH", 1, 1)
held = [socket.create_connection(a) for _ in range(2 * 4)]  # 2 workers x 2 each: the cap is 4
for c in held:
    c.sendall(struct.pack(">H", len(q)) + q)
answered = 0
for c in held:
    c.settimeout(5)
    try:
        answered += len(c.recv(4096)) > 2
    except (socket.timeout, ConnectionResetError):
        pass
assert answered == 8, answered
PY
check "TCP idle timeout; beyond the connection cap clients wait and are served" test $? = 0
check "listener paused at the cap (counted)" \
  test "$(metric "$M" 'dnsfence_tcp_listener_paused_total\{reason="full"\}')" -ge 1
check "closures counted by reason" test "$(metric "$M" 'dnsfence_tcp_closed_total\{reason="idle"\}')" -ge 1

# Malformed input: garbage, a response, two questions. The proxy must survive and count them.
python3 - "$LISTEN" "$PORT" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
a = (sys.argv[1], int(sys.argv[2]))
s.sendto(b"\x01\x02\x03", a)
s.sendto(b"\x12\x34\x81\x00" + b"\x00" * 8, a)
two = b"\x00\x07\x01\x00\x00\x02\x00\x00\x00\x00\x00\x00" + (b"\x01a\x07example\x00\x00\x01\x00\x01") * 2
s.sendto(two, a)
reply, _ = s.recvfrom(512)
assert reply[0:2] == b"\x00\x07" and reply[3] & 0x0f == 1, reply  # FORMERR
PY
check "malformed input answered FORMERR or dropped" test $? = 0
check "invalid queries counted" test "$(metric "$M" 'dnsfence_queries_total\{.*action="invalid"')" -ge 1
check "still serving after malformed input" grep -q 192.0.2.10 <<<"$(q $LISTEN "$PORT" www.example A +short)"

# Upstream death: out of rotation after upstream_max_failures (default 5) consecutive misses
# (health checks every 200 ms count), for every worker at once.
kill "$up2_PID"
wait "$up2_PID" 2>/dev/null || true
check "dead upstream leaves rotation" wait_until 15 sh -c \
  "curl -s http://$M/metrics | grep -q 'dnsfence_upstream_up{upstream=\"$UP2:$P2\"} 0'"
ok=0
for _ in $(seq 1 20); do
  if grep -q up1 <<<"$(q $LISTEN "$PORT" who.example TXT +short)"; then ok=$((ok + 1)); fi
done
check "every query answered by the live upstream ($ok/20)" test $ok = 20
start_unbound up2 $UP2 "$P2"
check "recovered upstream back in rotation" wait_until 5 sh -c \
  "curl -s http://$M/metrics | grep -q 'dnsfence_upstream_up{upstream=\"$UP2:$P2\"} 1'"

# Every upstream dead: SERVFAIL after the timeout, never a hang.
kill -STOP "$up1_PID" "$up2_PID"
start=$SECONDS
check "SERVFAIL when no upstream answers (UDP)" test "$(status_of $LISTEN "$PORT" www.example A)" = SERVFAIL
check "SERVFAIL when no upstream answers (TCP)" test "$(status_of $LISTEN "$PORT" www.example A +tcp)" = SERVFAIL
check "timeouts are prompt" test $((SECONDS - start)) -le 3
kill -CONT "$up1_PID" "$up2_PID"
check "timeouts counted" test "$(metric "$M" 'dnsfence_queries_total\{.*action="timeout"')" -ge 2
wait_until 5 sh -c "kdig @$LISTEN -p $PORT +time=1 +retry=0 www.example +short | grep -q 192.0.2.10"

# Reload: a new rule applies; a bad file is refused and the old rules keep running.
write_config $'[[serve.names]]\nname = "new.example"\naction = "nxdomain"'
kill -HUP $SERVE_PID
check "reload applies a new rule" wait_until 5 sh -c \
  "kdig @$LISTEN -p $PORT +time=1 +retry=0 new.example | grep -q NXDOMAIN"
echo 'this is not toml [' >"$WORK/dnsfence.toml"
kill -HUP $SERVE_PID
check "bad reload is refused with a reason" wait_until 5 grep -q "reload refused.*dnsfence.toml:1" "$WORK/serve.log"
check "old rules still running" test "$(status_of $LISTEN "$PORT" new.example A)" = NXDOMAIN
check "still forwarding after bad reload" grep -q 192.0.2.10 <<<"$(q $LISTEN "$PORT" www.example A +short)"

check "metrics by destination class" grep -q 'destination="unknown"' <<<"$(curl -s "http://$M/metrics")"
check "latency histogram" test "$(metric "$M" 'dnsfence_upstream_latency_seconds_count')" -ge 10
check "no query names in the log" bash -c "! grep -qiE 'example|use-application' '$WORK/serve.log'"
kill -TERM $SERVE_PID
check "clean exit on SIGTERM" wait $SERVE_PID
check "systemd notified READY, RELOADING, STOPPING" bash -c \
  "grep -q READY=1 '$WORK/notify.log' && grep -q RELOADING=1 '$WORK/notify.log' && grep -q STOPPING=1 '$WORK/notify.log'"

# The debug log is the only way names are logged.
"$DNSFENCE" serve --listen "$LISTEN:$PORT" --upstream "$UP1:$P1" --metrics "" --user root --debug-log --workers 1 \
  >"$WORK/debug.log" 2>&1 &
PIDS+=("$!")
wait_until 10 sh -c "kdig @$LISTEN -p $PORT +time=1 +retry=0 www.example +short | grep -q 192.0.2.10"
check "the kernel's default receive buffer without udp_receive_buffer" \
  test "$(rcvbufs)" = "1 rb$(sysctl -n net.core.rmem_default)"
check "flags only, no file: forwarding works" grep -q 192.0.2.10 <<<"$(q $LISTEN "$PORT" www.example A +short)"
check "debug log names queries" grep -q "name=www.example. type=1 action=forward" "$WORK/debug.log"
finish
