#!/usr/bin/env bash
# Upstream health with hysteresis, with real unbound upstreams on loopback. up1 is lame for one
# zone (`local-zone: lame.example. deny`: it never answers those names) and answers the rest; it
# must stay in rotation, because answers in between restart its failure count. up2, stopped
# (SIGSTOP: its socket stays, nothing answers), leaves the rotation after exactly
# upstream_max_failures consecutive timeouts, for every worker at once; continued, it returns
# after a health check.
# Usage: DNSFENCE=build/apps/dnsfence/dnsfence tests/e2e/serve/health.sh
# shellcheck disable=SC2154  # up2_PID is set by start_unbound (eval)
source "$(dirname "$0")/lib.sh"

UP1=127.0.55.1 UP2=127.0.55.2 LISTEN=127.0.55.10
P1=$(free_port $UP1) P2=$(free_port $UP2) PORT=$(free_port $LISTEN) MPORT=$(free_port 127.0.0.1)
UNBOUND_EXTRA='  local-zone: "lame.example." deny' start_unbound up1 $UP1 "$P1"
start_unbound up2 $UP2 "$P2"
M=127.0.0.1:$MPORT
FAILURES=3

# serve_with INTERVAL_MS: serve on both upstreams, health checks every INTERVAL_MS.
serve_with() {
  cat >"$WORK/dnsfence.toml" <<CONF
[serve]
listen = ["$LISTEN:$PORT"]
upstreams = ["$UP1:$P1", "$UP2:$P2"]
workers = 2
upstream_timeout_ms = 300
health_check_interval_ms = $1
upstream_max_failures = $FAILURES
metrics = "$M"
user = "nobody"
CONF
  chmod 644 "$WORK/dnsfence.toml"
  "$DNSFENCE" serve --config "$WORK/dnsfence.toml" >"$WORK/serve.log" 2>&1 &
  SERVE_PID=$!
  PIDS+=("$SERVE_PID")
  wait_until 10 sh -c "kdig @$LISTEN -p $PORT +time=1 +retry=0 www.example +short | grep -q 192.0.2.10"
}
up_of() { metric "$M" "dnsfence_upstream_up\\{upstream=\"$1\"\\}"; }
downs_of() { metric "$M" "dnsfence_upstream_down_total\\{upstream=\"$1\"\\}"; }
timeouts_of() { metric "$M" "dnsfence_upstream_timeouts_total\\{upstream=\"$1\"\\}"; }
who() { q $LISTEN "$PORT" who.example TXT +short | tr -d '"\\'; }  # the TXT is \"upN\"

# Health checks once a minute: nothing but queries moves the state during this part.
serve_with 60000
check "both upstreams up at start" test "$(up_of $UP1:$P1)/$(up_of $UP2:$P2)" = 1/1

# The lame zone: ask it until up1 has missed 2*FAILURES of its names; after each miss, ask other
# names until up1 answers one (which restarts its count). On a proxy that drops an upstream at
# its first miss, up1 answers nothing more until the next health check, a minute later.
answered_by_up1=0
for _ in $(seq 1 60); do
  (($(timeouts_of $UP1:$P1) >= 2 * FAILURES)) && break
  before=$(timeouts_of $UP1:$P1)
  q $LISTEN "$PORT" www.lame.example A >/dev/null
  (($(timeouts_of $UP1:$P1) > before)) || continue
  for _ in $(seq 1 40); do
    if [[ $(who) == up1 ]]; then
      answered_by_up1=$((answered_by_up1 + 1))
      break
    fi
  done
done
check "up1 missed $((2 * FAILURES)) lame names ($(timeouts_of $UP1:$P1))" test "$(timeouts_of $UP1:$P1)" -ge $((2 * FAILURES))
check "up1 answered other names after each miss ($answered_by_up1)" test "$answered_by_up1" -ge $((2 * FAILURES))
check "the lame upstream stayed in rotation" test "$(up_of $UP1:$P1)/$(downs_of $UP1:$P1)" = 1/0

# A stopped upstream: one query at a time, those sent to up2 time out (SERVFAIL); it leaves the
# rotation at the FAILURES-th, and every query after that is answered by up1.
kill -STOP "$up2_PID"
servfails=0
for _ in $(seq 1 200); do
  [[ $(up_of $UP2:$P2) == 0 ]] && break
  [[ $(status_of $LISTEN "$PORT" who.example TXT) == SERVFAIL ]] && servfails=$((servfails + 1))
done
check "the stopped upstream left the rotation" test "$(up_of $UP2:$P2)" = 0
check "after exactly $FAILURES timeouts ($servfails SERVFAIL, $(timeouts_of $UP2:$P2) counted)" \
  test "$servfails/$(timeouts_of $UP2:$P2)/$(downs_of $UP2:$P2)" = "$FAILURES/$FAILURES/1"
ok=0
for _ in $(seq 1 20); do [[ $(who) == up1 ]] && ok=$((ok + 1)); done
check "then every query answered by up1 ($ok/20)" test $ok = 20
kill -CONT "$up2_PID"
kill "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null || true

# Health checks every 200 ms: a stopped upstream leaves by failed checks alone, and returns after
# one that answers.
serve_with 200
kill -STOP "$up2_PID"
check "stopped: out of rotation by failed health checks" wait_until 15 sh -c "test \$(curl -s http://$M/metrics | grep -c 'dnsfence_upstream_up{upstream=\"$UP2:$P2\"} 0') = 1"
kill -CONT "$up2_PID"
check "continued: back in rotation after a health check" wait_until 15 sh -c "test \$(curl -s http://$M/metrics | grep -c 'dnsfence_upstream_up{upstream=\"$UP2:$P2\"} 1') = 1"
seen=$(for _ in $(seq 1 30); do who; done | sort -u | xargs)
check "both upstreams answer again ($seen)" test "$seen" = "up1 up2"
finish
