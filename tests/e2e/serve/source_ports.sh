#!/usr/bin/env bash
# The answer-spoofing margin (docs/serve.md): serve's queries to its upstream leave from fresh
# random source ports, each carrying at most 64 queries. 1,280 queries go through serve to a real
# unbound; tcpdump on loopback records the source port of each query serve forwards. Before: 4
# fixed ports per family for the worker's life (16 + 2 bits of guessing).
# Usage: DNSFENCE=build/apps/dnsfence/dnsfence tests/e2e/serve/source_ports.sh   (root, for tcpdump)
source "$(dirname "$0")/lib.sh"
for tool in unbound tcpdump python3; do command -v "$tool" >/dev/null || { echo "skipped: no $tool"; exit 77; }; done
[[ $(id -u) == 0 ]] || { echo "skipped: tcpdump needs root"; exit 77; }

UP=127.0.61.1 LISTEN=127.0.61.10
UPORT=$(free_port $UP) PORT=$(free_port $LISTEN)
start_unbound up $UP "$UPORT"
cat >"$WORK/dnsfence.toml" <<CONF
[serve]
listen = ["$LISTEN:$PORT"]
upstreams = ["$UP:$UPORT"]
workers = 1
health_check_interval_ms = 60000
metrics = ""
user = "nobody"
CONF
"$DNSFENCE" serve --config "$WORK/dnsfence.toml" >"$WORK/serve.log" 2>&1 &
PIDS+=("$!")
wait_until 10 sh -c "kdig @$LISTEN -p $PORT +time=1 +retry=0 www.example +short | grep -q 192.0.2.10"

tcpdump -i lo -n -l --immediate-mode "udp and dst host $UP and dst port $UPORT" >"$WORK/capture.txt" 2>"$WORK/tcpdump.log" &
PIDS+=("$!")
wait_until 10 grep -q "listening on" "$WORK/tcpdump.log"
python3 - "$LISTEN" "$PORT" <<'PY'
import socket, struct, sys
a = (sys.argv[1], int(sys.argv[2]))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
for i in range(1280):  # one at a time: each answered before the next
    name = b"".join(bytes([len(l)]) + l for l in [b"q%d" % i, b"www", b"example"]) + b"\0"
    s.sendto(struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0) + name + struct.pack(">HH", 1, 1), a)
    s.recv(4096)
PY
wait_until 10 sh -c "test \$(grep -c '> $UP.$UPORT' '$WORK/capture.txt') -ge 1280"
ports=$(sed -n "s/.* IP $UP\.\([0-9]*\) > $UP\.$UPORT.*/\1/p; s/.* IP 127\.0\.0\.1\.\([0-9]*\) > $UP\.$UPORT.*/\1/p" "$WORK/capture.txt" |
  sort | uniq -c | sort -rn)
distinct=$(wc -l <<<"$ports")
most=$(head -n 1 <<<"$ports" | awk '{print $1}')
echo "queries forwarded: $(grep -c "> $UP.$UPORT" "$WORK/capture.txt"), distinct source ports: $distinct, most queries on one port: $most"
check "at least 20 distinct source ports for 1,280 queries" test "$distinct" -ge 20
check "no port carried more than 64 queries" test "$most" -le 64
finish
