#!/usr/bin/env bash
# Both daemons' /metrics pass promtool's exposition-format check (Prometheus's own parser, then
# its lint), with label values that need escaping: serve's rule labels are DNS presentation text,
# which has escapes of its own ("\." for a dot inside a label, "\"", "\\"); Prometheus accepts
# only \\, \" and \n in a label value.
# Usage: DNSFENCE=build/apps/dnsfence/dnsfence tests/e2e/serve/metrics_format.sh
source "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null || { echo "skipped: promtool (Debian package prometheus) is missing"; exit 77; }
USER_AS=$(id -un)
[[ $(id -u) -eq 0 ]] && USER_AS=nobody

UP=127.0.56.1 LISTEN=127.0.56.10
PU=$(free_port $UP) PORT=$(free_port $LISTEN) MPORT=$(free_port 127.0.0.1)
WPORT=$(free_port $LISTEN) APORT=$(free_port 127.0.0.1) OPORT=$(free_port 127.0.0.1)
start_unbound up1 $UP "$PU"
# TOML literal strings: what is written is what the name parser reads.
cat >"$WORK/dnsfence.toml" <<CONF
[serve]
listen = ["$LISTEN:$PORT"]
upstreams = ["$UP:$PU", "[::1]:$PU"]
workers = 2
metrics = "127.0.0.1:$MPORT"
user = "$USER_AS"
[[serve.names]]
name = 'dot\\.ted.example'
[[serve.names]]
name = 'quo\\"te.example'
action = "refused"
[[serve.names]]
name = 'back\\\\slash.example'
action = "nodata"
CONF
"$DNSFENCE" serve --config "$WORK/dnsfence.toml" >"$WORK/serve.log" 2>&1 &
PIDS+=("$!")
wait_until 10 sh -c "kdig @$LISTEN -p $PORT +time=1 +retry=0 www.example +short | grep -q 192.0.2.10"
check "the dotted name is answered by its rule" test "$(status_of $LISTEN "$PORT" 'a.dot\.ted.example' A)" = NXDOMAIN
check "the quoted name is answered by its rule" test "$(status_of $LISTEN "$PORT" 'quo\"te.example' A)" = REFUSED
q $LISTEN "$PORT" www.example A >/dev/null
curl -sf "http://127.0.0.1:$MPORT/metrics" >"$WORK/serve.metrics"
check "serve's /metrics passes promtool check metrics" sh -c "promtool check metrics <'$WORK/serve.metrics'"
check "serve's dotted rule label, escaped once more" \
  grep -qF 'rule="name:dot\\.ted.example.",suffix="dot\\.ted.example.",action="nxdomain"} 1' "$WORK/serve.metrics"
check "serve's quoted rule label" grep -qF 'rule="name:quo\\\"te.example.",suffix="quo\\\"te.example.",action="refused"} 1' \
  "$WORK/serve.metrics"
check "serve's backslash rule label" grep -qF 'suffix="back\\\\slash.example."' "$WORK/serve.metrics"
check "serve's histogram and IPv6 upstream label" sh -c "grep -q '^dnsfence_upstream_latency_seconds_bucket{le=\"+Inf\"} [1-9]' '$WORK/serve.metrics' \
  && grep -qF 'dnsfence_upstream_up{upstream=\"[::1]:$PU\"}' '$WORK/serve.metrics'"

"$DNSFENCE" witness serve --zone witness.test --listen "$LISTEN:$WPORT" --api "127.0.0.1:$APORT" --operator "127.0.0.1:$OPORT" \
  --user "$USER_AS" \
  >"$WORK/witness.log" 2>&1 &
PIDS+=("$!")
wait_until 10 curl -sf "http://127.0.0.1:$APORT/healthz" >/dev/null
q $LISTEN "$WPORT" nothing.witness.test A >/dev/null
curl -sf "http://127.0.0.1:$OPORT/metrics" >"$WORK/witness.metrics"
check "the witness's /metrics passes promtool check metrics" sh -c "promtool check metrics <'$WORK/witness.metrics'"
check "the witness counted the query" grep -q '^dnsfence_witness_queries_total{outcome="[a-z_]*"} 1' "$WORK/witness.metrics"
if ((FAILS > 0)); then
  promtool check metrics <"$WORK/serve.metrics" || true
  promtool check metrics <"$WORK/witness.metrics" || true
fi
finish
