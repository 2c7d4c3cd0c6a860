# shellcheck shell=bash
# Evidence: unique probe names, per-case slices of the resolver logs, log barriers, captures,
# client lookups with latency, and the files kept under $LAB_EVIDENCE/runs/.

declare -A LOG_MARK=()
CASE_DIR=""

# probe_name LABEL: a unique name under the probe zone, e.g. s1-u-1a2b3c.shop.leak.test
probe_name() { printf '%s-%s%04x.%s\n' "$1" "$(date +%s%N | tail -c 7)" $((RANDOM)) "${2:-$PROBE_ZONE}"; }

# case_begin DIR: remembers where each resolver log ends; later reads see only this case.
case_begin() {
  local r f
  CASE_DIR=$1
  rm -rf "$CASE_DIR" && mkdir -p "$CASE_DIR"
  for r in "${ALL_RESOLVERS[@]}"; do
    f=$(resolver_log "$r")
    LOG_MARK[$r]=$(stat -c %s "$f" 2>/dev/null || echo 0)
  done
}

# log_slice NAME: what resolver NAME logged since case_begin.
log_slice() { tail -c +$((${LOG_MARK[$1]:-0} + 1)) "$(resolver_log "$1")" 2>/dev/null; }

# seen_count NAME PROBE...: how many queries for any of PROBE resolver NAME logged in this case.
seen_count() {
  local r=$1; shift
  local pat; pat=$(printf '%s|' "$@"); pat=${pat%|}
  log_slice "$r" | log_queries | grep -Eic "$LOG_NAME_BEFORE(${pat//./\\.})\.? " || true
}

# seen_sources NAME PROBE...: the client addresses resolver NAME saw asking for PROBE.
seen_sources() {
  local r=$1; shift
  local pat; pat=$(printf '%s|' "$@"); pat=${pat%|}
  { log_slice "$r" | log_queries | grep -Ei " (${pat//./\\.})\. " || true; } | sed -E 's/.*info: ([0-9a-f.:]+) .*/\1/' | sort -u | paste -sd, - || true
}

log_has() { grep -Eqi "$LOG_NAME_BEFORE$2\.? " <<<"$(log_slice "$1" | log_queries)"; }

# log_barrier NAME...: sends one marker query to each resolver from a namespace the protection
# never touches and waits until each log shows it. Unbound logs queries in arrival order, so
# every query that reached the resolver before the marker is then in the log: absence is proof,
# not a guess. (The Stealth resolver logs the marker and drops it; kdig gives up after 1 s.)
log_barrier() {
  local r marker ns
  declare -A markers=()
  # All markers first, then the waits: the resolvers log them in parallel.
  for r in "$@"; do
    marker=$(probe_name barrier)
    markers[$r]=$marker
    case $r in provider | serve) ns=$NS_VPN ;; *) ns=$NS_INET ;; esac
    ( nsx "$ns" kdig @"${RESOLVER_ADDR[$r]}" "$marker" A +timeout=1 +retry=0 >/dev/null 2>&1 & )
  done
  for r in "$@"; do
    wait_until 5 log_has "$r" "${markers[$r]}" || { log "barrier: $r did not log ${markers[$r]}"; return 1; }
  done
}

# capture_start NAME NS IFACE FILTER MARKER_NS MARKER_DST: tcpdump of FILTER into
# $CASE_DIR/NAME.pcap; waits until it listens. capture_stop sends a marker datagram from
# MARKER_NS to MARKER_DST port 9 (across the captured interface) and waits until the capture holds
# it: every packet before it has been captured, so a count of zero is evidence, not luck.
capture_start() {
  local name=$1 ns=$2 ifc=$3 filter=$4
  echo "$5 $6" >"$LAB_STATE/capture-$name.marker"
  start_bg "tcpdump-$name" "$ns" tcpdump -i "$ifc" -n -U --immediate-mode -w "$CASE_DIR/$name.pcap" \
    "($filter) or udp port 9"
  wait_until 5 grep -q "listening on" "$LAB_STATE/out/tcpdump-$name.out" || die "tcpdump $name did not start"
}
capture_has_marker() { grep -q "$2" <<<"$(tcpdump -n -r "$1" 2>/dev/null)"; }
# capture_stop NAME: marker, stop, and the decoded packets in $CASE_DIR/NAME.txt (without markers).
capture_stop() {
  local ns dst tag
  read -r ns dst <"$LAB_STATE/capture-$1.marker"
  tag="marker-$(date +%s%N)"
  wait_until 5 capture_marker "$ns" "$dst" "$tag" "$CASE_DIR/$1.pcap" || log "capture $1: marker not seen"
  stop_bg "tcpdump-$1"
  { tcpdump -n -r "$CASE_DIR/$1.pcap" 2>/dev/null || true; } | { grep -v "\.9: UDP" || true; } >"$CASE_DIR/$1.txt"
}
# capture_marker NS DST TAG PCAP: sends one marker (again on each poll) and looks for it.
capture_marker() {
  nsx "$1" bash -c "echo $3 >/dev/udp/$2/9" 2>/dev/null || true
  sleep 0.02
  capture_has_marker "$4" "> $2.9: UDP"
}
capture_count() { grep -c . "$CASE_DIR/$1.txt" 2>/dev/null || true; }

# lookup NAME: glibc lookup in the client (resolv.conf from DHCP). Sets LOOKUP_RC, LOOKUP_ADDR,
# LOOKUP_MS and appends to $CASE_DIR/lookups.txt.
lookup() {
  local t0 out
  t0=$(now_ms)
  out=$(nsx $NS_CLIENT timeout 10 getent ahosts "$1" 2>&1) && LOOKUP_RC=0 || LOOKUP_RC=$?
  LOOKUP_MS=$(($(now_ms) - t0))
  LOOKUP_ADDR=$(awk 'NR==1 {print $1}' <<<"$out")
  printf 'getent %s rc=%s addr=%s ms=%s\n' "$1" "$LOOKUP_RC" "${LOOKUP_ADDR:--}" "$LOOKUP_MS" >>"$CASE_DIR/lookups.txt"
}

# kdig_lookup SERVER NAME [TYPE]: an explicit query from the client. Sets KDIG_RCODE, KDIG_ANSWER.
kdig_lookup() {
  local out
  out=$(nsx $NS_CLIENT kdig @"$1" "$2" "${3:-A}" +timeout=1 +retry=0 2>&1 || true)
  KDIG_RCODE=$(sed -nE 's/.*status: ([A-Z]+).*/\1/p' <<<"$out" | head -1)
  KDIG_RCODE=${KDIG_RCODE:-TIMEOUT}
  KDIG_ANSWER=$(awk '/ANSWER SECTION/ {f=1; next} f && NF == 0 {exit} f' <<<"$out" | awk '{print $NF}' | paste -sd, -)
  printf 'kdig @%s %s %s rcode=%s answer=%s\n' "$1" "$2" "${3:-A}" "$KDIG_RCODE" "${KDIG_ANSWER:--}" >>"$CASE_DIR/lookups.txt"
}

# keep_logs: copies this case's slice of every resolver log next to the other evidence.
keep_logs() {
  local r
  for r in "${ALL_RESOLVERS[@]}"; do log_slice "$r" >"$CASE_DIR/$r.log"; done
  nsx $NS_VPN nft list table inet dnsfence >"$CASE_DIR/nft-vpn.txt" 2>/dev/null || echo "(none)" >"$CASE_DIR/nft-vpn.txt"
  nsx $NS_CLIENT nft list table inet dnsfence >"$CASE_DIR/nft-client.txt" 2>/dev/null || echo "(none)" >"$CASE_DIR/nft-client.txt"
  cp /etc/netns/$NS_CLIENT/resolv.conf "$CASE_DIR/client-resolv.conf"
}
