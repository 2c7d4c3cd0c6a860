# Shared helpers for the serve end-to-end tests: temporary directory, recorded PIDs, free ports,
# unbound upstreams with local data, polling with deadlines, and a trap that cleans everything.
# shellcheck shell=bash

set -euo pipefail
DNSFENCE=${DNSFENCE:?path to the dnsfence binary}
WORK=$(mktemp -d /tmp/dfs-e2e.XXXXXX)
PIDS=()
FAILS=0

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ ${KEEP_WORK:-0} == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

pass() { echo "ok   - $*"; }
fail() {
  echo "FAIL - $*"
  FAILS=$((FAILS + 1))
}
check() {  # check DESCRIPTION COMMAND...: pass if the command succeeds
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
finish() {
  if ((FAILS > 0)); then
    echo "$FAILS check(s) failed; logs:"
    tail -n 30 "$WORK"/*.log || true
    exit 1
  fi
  echo "all checks passed"
}

free_port() {  # free_port ADDR: a port nobody listens on (UDP and TCP) right now
  python3 - "$1" <<'PY'
import socket, sys
for _ in range(100):
    u = socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((sys.argv[1], 0))
    port = u.getsockname()[1]
    t = socket.socket(u.family, socket.SOCK_STREAM)
    try:
        t.bind((sys.argv[1], port))
    except OSError:
        continue
    print(port)
    break
PY
}

wait_until() {  # wait_until SECONDS COMMAND...: poll until the command succeeds or time runs out
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

alive() { [[ -e /proc/$1 ]] && ! grep -q '^State:.*Z' "/proc/$1/status"; }

# start_unbound NAME ADDR PORT [NETNS]: an upstream answering from local data only; extra
# `server:` lines come from UNBOUND_EXTRA (e.g. "max-udp-size: 512").
start_unbound() {
  local name=$1 addr=$2 port=$3 ns=${4:-}
  local in=()
  [[ -n $ns ]] && in=(ip netns exec "$ns")
  local big
  big=$(printf 'x%.0s' {1..200})
  cat >"$WORK/$name.conf" <<CONF
server:
  interface: $addr@$port
  port: $port
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$WORK"
  pidfile: ""
  use-syslog: no
  logfile: ""
  verbosity: 0
  do-ip6: $([[ $addr == *:* ]] && echo yes || echo no)
  access-control: 0.0.0.0/0 allow
  access-control: ::/0 allow
${UNBOUND_EXTRA:-}
  local-zone: "example." static
  local-data: "www.example. 300 IN A 192.0.2.10"
  local-data: "www.example. 300 IN AAAA 2001:db8::10"
  local-data: "who.example. 300 IN TXT \"$name\""
  local-data: "big.example. 300 IN TXT \"1$big\""
  local-data: "big.example. 300 IN TXT \"2$big\""
  local-data: "big.example. 300 IN TXT \"3$big\""
remote-control:
  control-enable: no
CONF
  "${in[@]}" unbound -d -c "$WORK/$name.conf" >"$WORK/$name.log" 2>&1 &
  PIDS+=("$!")
  eval "${name}_PID=$!"
  wait_until 10 "${in[@]}" sh -c "kdig @$addr -p $port +time=1 +retry=0 who.example TXT +short | grep -q $name"
}

q() {  # q SERVER PORT KDIG-ARGS...: one query, quick timeout
  local server=$1 port=$2
  shift 2
  kdig @"$server" -p "$port" +time=3 +retry=0 "$@" 2>&1
}
status_of() { q "$@" | sed -n 's/.*status: \([A-Z]*\).*/\1/p' | head -n 1; }
metric() {  # metric ADDR:PORT REGEX: the sum of matching sample values
  curl -s "http://$1/metrics" | grep -E "^$2" | awk '{s += $NF} END {print s + 0}'
}
