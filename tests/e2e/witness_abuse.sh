#!/usr/bin/env bash
# End-to-end: the abuse a public leak-test authority meets, against one `dnsfence witness serve`
# in a namespace of its own (loopback only: all of 127.0.0.0/8 is local, so a client can speak
# from many /24 prefixes, LAB-NOTES 16). Each case measures what an honest client sees meanwhile.
#   A. 300 hostile HTTP connections from 30 addresses (idle ones, and ones trickling half a request
#      head) against a cap of 64: an honest GET /healthz and POST /runs are answered in < 100 ms.
#   B. A run-creation flood from one /24: refused with 429 after its burst; another /24 is served.
#   C. A UDP flood at 5x the response rate limit from one /24: answers capped at the rate, every
#      2nd one over it truncated (TC) instead of dropped; a leak test's burst from a resolver in
#      another /24 (41 probe names at once) is answered whole.
# Usage: witness_abuse.sh PATH/TO/dnsfence      (root; exits 77 = skipped when tools are missing)
set -euo pipefail
bin=$(readlink -f "${1:?usage: $0 PATH/TO/dnsfence}")
here=$(cd "$(dirname "$0")" && pwd)

W=dfa-witness
# shellcheck source=tests/e2e/lib.sh
source "$here/lib.sh"
lt_require curl jq python3
lt_begin dfa $W
ZONE=abuse.witness.example

fail() {
  echo "FAIL: $*"
  [ -f "$work/witness.log" ] && tail -n 20 "$work/witness.log"
  exit 1
}

cat >"$work/witness.toml" <<TOML
[witness]
zone = "$ZONE"
listen = ["127.0.0.1:53"]
api = "127.0.0.1:8053"
operator = "127.0.0.1:9154"
answer_a = ["192.0.2.80"]
max_runs = 1000
max_probes_per_run = 100
runs_per_minute = 60
run_burst = 20
rrl_rate = 100
rrl_slip = 2
http_max_connections = 64
http_max_connections_per_client = 16
TOML
ip netns exec $W "$bin" witness serve --config "$work/witness.toml" --user nobody >"$work/witness.log" 2>&1 &
pids+=($!)
wait_for 10 nx $W curl -sf http://127.0.0.1:8053/healthz
API=http://127.0.0.1:8053

# The hostile HTTP clients: from 127.4.0.1 .. 127.4.0.30, 10 connections each; half stay idle,
# half send half a head and then a byte every 100 ms. They hold on until told to stop.
cat >"$work/hostile.py" <<'PY'
import socket, sys, time
stop_file = sys.argv[1]
conns = []
for a in range(1, 31):
    for i in range(10):
        s = socket.socket()
        s.bind((f"127.4.0.{a}", 0))
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", 8053))
        except BlockingIOError:
            pass
        conns.append((s, i % 2 == 1))
time.sleep(0.2)
for s, slow in conns:
    if slow:
        try: s.send(b"GET /runs/0123 HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        except OSError: pass
print("hostile clients connected", flush=True)
deadline = time.time() + 60
while time.time() < deadline:
    try:
        open(stop_file).close()
        break
    except FileNotFoundError:
        pass
    for s, slow in conns:
        if slow:
            try: s.send(b"a")
            except OSError: pass
    time.sleep(0.1)
PY
ip netns exec $W python3 "$work/hostile.py" "$work/stop" >"$work/hostile.out" 2>&1 &
pids+=($!)
wait_for 10 grep -q "hostile clients connected" "$work/hostile.out"
timed() {  # timed CURL_ARGS...: prints the status and the total time in ms of one request
  nx $W curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 5 "$@" |
    awk '{ printf "%s %d\n", $1, $2 * 1000 }'
}
read -r code ms <<<"$(timed --interface 127.0.0.2 "$API/healthz")"
[[ $code == 200 && $ms -lt 100 ]] || fail "A: honest GET /healthz: HTTP $code in $ms ms"
read -r code2 ms2 <<<"$(timed --interface 127.0.0.2 -X POST -d '{"count": 9}' "$API/runs")"
[[ $code2 == 201 && $ms2 -lt 100 ]] || fail "A: honest POST /runs: HTTP $code2 in $ms2 ms"
status=$(nx $W curl -sf http://127.0.0.1:9154/status)
touch "$work/stop"
echo "A: with 300 hostile connections: GET /healthz $ms ms, POST /runs $ms2 ms;" \
  "public listener: $(jq -c .public_http <<<"$status")"
(($(jq .public_http.open <<<"$status") <= 64)) || fail "A: more connections open than the cap: $status"

# B. A run-creation flood from 127.0.0.0/24; then a client in 127.1.0.0/24.
start_ms=$(date +%s%3N)
flood=$(for i in $(seq 60); do
  nx $W curl -s -o /dev/null -w '%{http_code}\n' --interface 127.0.0.1 -X POST "$API/runs"
done | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
elapsed_s=$((($(date +%s%3N) - start_ms + 999) / 1000))
created=$(grep -o '201:[0-9]*' <<<"$flood" | cut -d: -f2)
limited=$(grep -o '429:[0-9]*' <<<"$flood" | cut -d: -f2)
# The burst (20), then one a second (60 a minute) for as long as the flood lasted.
((${created:-0} >= 20 && ${created:-0} <= 20 + elapsed_s + 1 && ${limited:-0} == 60 - ${created:-0})) ||
  fail "B: flood of 60 from one /24 in ${elapsed_s}s: $flood"
read -r code ms <<<"$(timed --interface 127.1.0.1 -X POST "$API/runs")"
[[ $code == 201 ]] || fail "B: another /24 after the flood: HTTP $code"
echo "B: 60 run creations from 127.0.0.0/24: $flood; then 127.1.0.1: $code in $ms ms"

# C. Response rate limiting: 500 queries at once from one /24, and a leak test's 41 from another.
probe=$(nx $W curl -sf --interface 127.5.0.1 -X POST -d '{"count": 41}' "$API/runs")
jq -r '.probes[]' <<<"$probe" >"$work/probes.txt"
cat >"$work/udp.py" <<'PY'
import random, socket, struct, sys, time
source, count, names = sys.argv[1], int(sys.argv[2]), open(sys.argv[3]).read().split()
def query(qid, name):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00\x00\x01\x00\x01"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((source, 0))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
start = last = time.monotonic()
for i in range(count):
    s.sendto(query(i, names[i % len(names)]), ("127.0.0.1", 53))
full = truncated = 0
s.settimeout(1.0)
try:
    while full + truncated < count:
        reply = s.recv(4096)
        last = time.monotonic()
        if reply[2] & 0x02: truncated += 1
        else: full += 1
except socket.timeout:
    pass
print(full, truncated, count - full - truncated, int((last - start) * 1000))
PY
read -r full tc none ms <<<"$(ip netns exec $W python3 "$work/udp.py" 127.2.0.1 500 "$work/probes.txt")"
echo "C: 500 queries at once from 127.2.0.1 (rrl_rate 100): $full answered, $tc truncated, $none dropped in $ms ms"
# A second's worth at once, then 100 a second for as long as the flood lasted.
((full >= 100 && full <= 100 + ms / 10 + 2)) || fail "C: answers over the rate: $full of 500 in $ms ms"
# Over the rate, every 2nd answer is truncated and the others dropped (the witness's counters: the
# kernel may also drop some of a 500-query burst before the witness reads them).
metrics=$(nx $W curl -sf http://127.0.0.1:9154/metrics)
slipped=$(awk '$1 == "dnsfence_witness_rrl_slipped_total" { print $2 }' <<<"$metrics")
dropped=$(awk '$1 == "dnsfence_witness_rrl_dropped_total" { print $2 }' <<<"$metrics")
# (Each answer sent on a refilled token restarts the count: one more drop than slip at most each.)
slack=$((full - 100 + 1))
((slipped == tc && slipped - dropped <= slack && dropped - slipped <= slack && slipped > 0)) ||
  fail "C: over the rate: $slipped slipped ($tc truncated answers received), $dropped dropped"
read -r full tc none ms <<<"$(ip netns exec $W python3 "$work/udp.py" 127.3.0.1 41 "$work/probes.txt")"
echo "C: a leak test's 41 probe queries from 127.3.0.1: $full answered, $tc truncated, $none dropped"
[[ $full == 41 ]] || fail "C: the leak test's own traffic was limited"
metrics=$(nx $W curl -sf http://127.0.0.1:9154/metrics)
grep -q '^dnsfence_witness_runs_rate_limited_total [1-9]' <<<"$metrics" || fail "B: 429s not counted"
echo "PASS in ${SECONDS}s"
