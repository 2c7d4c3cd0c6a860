#!/usr/bin/env bash
# Bounded memory: 10,000 queries in flight towards an upstream that never answers, in one worker;
# the proxy's resident memory must stay under 12 MiB, and queries beyond max_inflight get SERVFAIL.
# Usage: DNSFENCE=... tests/e2e/serve/inflight_rss.sh   (prints the measured RSS)
source "$(dirname "$0")/lib.sh"
ADDR=127.0.54.1
UPORT=$(free_port $ADDR) PORT=$(free_port $ADDR) MPORT=$(free_port 127.0.0.1)
# The black hole: reads and never answers.
python3 -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('$ADDR', $UPORT))
while True: s.recv(4096)
" &
PIDS+=("$!")
cat >"$WORK/dnsfence.toml" <<CONF
[serve]
listen = ["$ADDR:$PORT"]
upstreams = ["$ADDR:$UPORT"]
workers = 1
max_inflight = 10000
upstream_timeout_ms = 30000
health_check_interval_ms = 60000
metrics = "127.0.0.1:$MPORT"
user = "root"  # said explicitly: the test's files are in a root-only temporary directory
CONF
"$DNSFENCE" serve --config "$WORK/dnsfence.toml" >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
PIDS+=("$SERVE_PID")
M=127.0.0.1:$MPORT
wait_until 10 curl -sf "http://$M/metrics" -o /dev/null
rss_before=$(awk '/VmRSS/ {print $2}' /proc/$SERVE_PID/status)
# 10,500 distinct queries from 50 source ports, paced so the kernel drops none.
servfails=$(python3 - "$ADDR" "$PORT" <<'PY'
import socket, struct, sys, time
addr = (sys.argv[1], int(sys.argv[2]))
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(50)]
def query(i):
    name = b"".join(bytes([len(l)]) + l for l in [b"q%d" % i, b"example"]) + b"\0"
    return struct.pack(">HHHHHH", i & 0xffff, 0x0100, 1, 0, 0, 0) + name + struct.pack(">HH", 1, 1)
for i in range(10500):
    socks[i % 50].sendto(query(i), addr)
    if i % 100 == 99: time.sleep(0.01)
servfail = 0
for s in socks:
    s.setblocking(False)
time.sleep(0.5)
for s in socks:
    try:
        while True:
            r = s.recv(512)
            servfail += (r[3] & 0x0f) == 2
    except BlockingIOError:
        pass
print(servfail)
PY
)
check "10,000 queries in flight" wait_until 5 sh -c "curl -s http://$M/metrics | grep -q '^dnsfence_inflight 10000'"
rss=$(awk '/VmRSS/ {print $2}' /proc/$SERVE_PID/status)
echo "RSS: ${rss_before} KiB idle, ${rss} KiB with 10,000 in flight (limit 12288 KiB); SERVFAIL when full: $servfails"
check "RSS under 12 MiB with 10,000 in flight" test "$rss" -lt 12288
check "queries beyond max_inflight get SERVFAIL" test "$servfails" -ge 400
# The libraries only other commands need are loaded by them alone (src/common/dynlib.hpp).
mapped=$(grep -oE 'lib(pcap|systemd|nftables|dbus-1)[^/ ]*\.so[.0-9]*' /proc/$SERVE_PID/maps | sort -u | tr '\n' ' ' || true)
check "serve maps no libpcap, libsystemd, libnftables or libdbus (mapped: ${mapped:-none})" test -z "$mapped"
finish
