#!/usr/bin/env bash
# SIGHUP reloads the upstream list: two real unbound upstreams, A and B, each answering
# who.example TXT with its own name. serve starts with A; a reload to B sends every new query to
# B while a query already in flight to A (stopped with SIGSTOP) still gets A's answer. A file with
# an unknown key, or one that needs a 17th upstream index while A's is still held, is refused and B
# keeps answering; a file listing 17 upstreams is refused at its line by --check-config.
# Usage: DNSFENCE=build/apps/dnsfence/dnsfence tests/e2e/serve/reload.sh
source "$(dirname "$0")/lib.sh"

A=127.0.57.1 B=127.0.57.2 LISTEN=127.0.57.10
PA=$(free_port $A) PB=$(free_port $B) PORT=$(free_port $LISTEN) MPORT=$(free_port 127.0.0.1)
M=127.0.0.1:$MPORT
start_unbound upa $A "$PA"
start_unbound upb $B "$PB"

write_config() {  # write_config UPSTREAMS-TOML-ARRAY [EXTRA-LINE]
  cat >"$WORK/dnsfence.toml" <<CONF
[serve]
listen = ["$LISTEN:$PORT"]
upstreams = $1
workers = 2
upstream_timeout_ms = 5000
health_check_interval_ms = 200
metrics = "$M"
user = "root"  # said explicitly: the test's files are in a root-only temporary directory
${2:-}
CONF
}
reloads() { grep -c "$1" "$WORK/serve.log" || true; }
hup_and_wait() {  # hup_and_wait PATTERN: SIGHUP, then wait for one more log line matching PATTERN
  local before
  before=$(reloads "$1")
  kill -HUP "$SERVE_PID"
  wait_until 5 sh -c "test \$(grep -c '$1' '$WORK/serve.log') -gt $before"
}
who() { q $LISTEN "$PORT" who.example TXT +short; }
all_from() {  # all_from NAME: ten queries, every one answered by NAME
  local i
  for i in $(seq 1 10); do [[ $(who) == *"$1"* ]] || return 1; done
}

write_config "[\"$A:$PA\"]"
"$DNSFENCE" serve --config "$WORK/dnsfence.toml" >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
PIDS+=("$SERVE_PID")
wait_until 10 sh -c "kdig @$LISTEN -p $PORT +time=1 +retry=0 who.example TXT +short | grep -q upa"
check "before the reload every query goes to A" all_from upa

# A query in flight to A when the reload removes it: A is stopped, the query waits in its slot.
# shellcheck disable=SC2154  # upa_PID is set by start_unbound
kill -STOP "$upa_PID"
sent_a=$(metric "$M" "dnsfence_upstream_queries_total\\{upstream=\"$A:$PA\"")
kdig @$LISTEN -p "$PORT" +time=8 +retry=0 who.example TXT +short >"$WORK/inflight.out" 2>&1 &
KDIG_PID=$!
PIDS+=("$KDIG_PID")
check "a query is on its way to A" wait_until 5 sh -c \
  "test \$(curl -s http://$M/metrics | grep -E '^dnsfence_upstream_queries_total\\{upstream=\"$A:$PA\"' | awk '{print \$NF}') -gt $sent_a"

write_config "[\"$B:$PB\"]"
check "reload to B is logged" hup_and_wait "reloaded"
check "after the reload every query goes to B" all_from upb
metrics=$(curl -s "http://$M/metrics")
check "B is in the metrics" grep -q "dnsfence_upstream_up{upstream=\"$B:$PB\"} 1" <<<"$metrics"
check "A is no longer in the metrics" bash -c "! grep -q 'upstream=\"$A:$PA\"' <<<'$metrics'"
kill -CONT "$upa_PID"
wait "$KDIG_PID" || true
check "the query in flight to A completes with A's answer" grep -q upa "$WORK/inflight.out"

write_config "[\"$A:$PA\"]" "bogus_key = 1"
check "a file with an unknown key is refused with its line" hup_and_wait "reload refused.*dnsfence.toml:9:[0-9]*: unknown key serve.bogus_key"
check "B still answers after the refused reload" all_from upb

many=$(for i in $(seq 1 15); do printf '"127.0.58.%s:53", ' "$i"; done)
write_config "[$many\"$B:$PB\"]"
check "15 new upstreams next to B, while A's index is held for its grace period: refused" \
  hup_and_wait "reload refused.*all 16 are in use or held.*reload again later"
check "B still answers after the refused reload" all_from upb

write_config "[\"$A:$PA\"]"
check "reload back to A" hup_and_wait "reloaded"
check "A answers again" all_from upa
check "serve is still running" alive "$SERVE_PID"

many=$(for i in $(seq 1 17); do printf '"127.0.58.%s:53",\n' "$i"; done)
write_config "[
$many]"
if out=$("$DNSFENCE" serve --check-config --config "$WORK/dnsfence.toml" 2>&1); then
  fail "--check-config refuses 17 upstreams"
else
  check "--check-config refuses 17 upstreams at the 17th" grep -q "dnsfence.toml:20:1: serve.upstreams: at most 16 entries" <<<"$out"
fi
finish
