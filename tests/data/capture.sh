#!/usr/bin/env bash
# Regenerates the *.hex DNS packet fixtures in this directory from real exchanges between kdig
# (knot-dnsutils) and a throwaway unbound instance, captured with tcpdump on loopback.
#
# Manual developer tool, not run in CI. Needs root (tcpdump on lo), kdig, unbound, tcpdump and
# python3 (standard library only). All traffic stays on 127.0.0.1 / ::1, port 5391; unbound
# never recurses (every name outside the test zones is answered locally, and its only forwarder
# is a localhost address it refuses to query).
#
#   sudo tests/data/capture.sh            # rewrites tests/data/*.hex
#   sudo tests/data/capture.sh OUTDIR     # writes them somewhere else
set -euo pipefail

PORT=5391       # the unbound instance kdig talks to
UP_PORT=5392    # a second unbound it forwards caps.test to, with 0x20 (use-caps-for-id)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:-$HERE}
mkdir -p "$OUT"

for tool in kdig unbound tcpdump python3; do
  command -v "$tool" >/dev/null || { echo "capture.sh: $tool not found" >&2; exit 1; }
done
[[ $(id -u) -eq 0 ]] || { echo "capture.sh: run as root (tcpdump needs it)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/dnsfence-capture.XXXXXX)
UNBOUND_PID=""
UPSTREAM_PID=""
TCPDUMP_PID=""

cleanup() {
  # Stop only the processes this script started, by their recorded PIDs.
  for pid in "$TCPDUMP_PID" "$UNBOUND_PID" "$UPSTREAM_PID"; do
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- unbound -------------------------------------------------------------------------------------
big_txt=""
for i in $(seq -w 1 12); do
  # 12 TXT records of ~100 octets each: well over 512 octets, to provoke TC over UDP.
  big_txt+="  local-data: 'big.example.test. 3600 IN TXT \"record $i: $(printf 'x%.0s' $(seq 90))\"'"$'\n'
done

cat >"$WORK/unbound.conf" <<EOF
server:
  verbosity: 1
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "$WORK"
  pidfile: ""
  use-syslog: no
  logfile: ""
  num-threads: 1
  port: $PORT
  interface: 127.0.0.1
  interface: ::1
  do-ip4: yes
  do-ip6: yes
  do-udp: yes
  do-tcp: yes
  access-control: 127.0.0.0/8 allow
  access-control: ::1/128 allow
  module-config: "iterator"
  hide-identity: no
  hide-version: no
  identity: "dnsfence-test"
  version: "dnsfence-test"
  nsid: "ascii_dnsfence-test"
  minimal-responses: yes
  qname-minimisation: no
  # Lets it forward to the upstream instance on 127.0.0.1; it never queries anything else.
  do-not-query-localhost: no
  # Randomised qname case ("dns 0x20") on its upstream queries: the only way to get a real
  # mixed-case query on the wire, since kdig lowercases names it is given.
  use-caps-for-id: yes

  # Never recurse: everything outside the zones below is answered (NXDOMAIN) locally.
  local-zone: "." static

  local-zone: "example.test." static
  local-data: "example.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300"
  local-data: "example.test. 3600 IN NS ns1.example.test."
  local-data: "example.test. 3600 IN MX 10 mail.example.test."
  local-data: "example.test. 3600 IN MX 20 mail2.example.test."
  local-data: "example.test. 3600 IN A 192.0.2.1"
  local-data: "ns1.example.test. 3600 IN A 192.0.2.53"
  local-data: "www.example.test. 3600 IN A 192.0.2.10"
  local-data: "www.example.test. 3600 IN A 192.0.2.11"
  local-data: "www.example.test. 3600 IN AAAA 2001:db8::10"
  local-data: "www.example.test. 3600 IN AAAA 2001:db8::11"
  local-data: "mail.example.test. 3600 IN A 192.0.2.25"
  local-data: "mail2.example.test. 3600 IN A 192.0.2.26"
  local-data: "alias.example.test. 3600 IN CNAME alias2.example.test."
  local-data: "alias2.example.test. 3600 IN CNAME www.example.test."
  local-data: 'txt.example.test. 3600 IN TXT "v=spf1 -all"'
  local-data: 'txt.example.test. 3600 IN TXT "hello world" "second string"'
$big_txt
  local-zone: "refused.test." refuse

  # chain.test is served from an auth-zone, which (unlike local-data) follows CNAME chains
  # inside the zone. "transparent" lets it through the "." static zone above.
  local-zone: "chain.test." transparent
  # caps.test is forwarded to the upstream instance.
  local-zone: "caps.test." transparent

auth-zone:
  name: "chain.test."
  zonefile: "$WORK/chain.test.zone"
  for-downstream: yes
  for-upstream: no
  fallback-enabled: no

forward-zone:
  name: "caps.test."
  forward-addr: 127.0.0.1@$UP_PORT

# Belt and braces: should anything slip past the "." static zone, it goes to the upstream
# instance on loopback (which answers everything locally), never to the root servers.
forward-zone:
  name: "."
  forward-addr: 127.0.0.1@$UP_PORT
EOF

cat >"$WORK/upstream.conf" <<EOF
server:
  verbosity: 1
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "$WORK"
  pidfile: ""
  use-syslog: no
  logfile: ""
  num-threads: 1
  port: $UP_PORT
  interface: 127.0.0.1
  do-ip6: no
  access-control: 127.0.0.0/8 allow
  module-config: "iterator"
  minimal-responses: yes
  do-not-query-localhost: yes
  local-zone: "." static
  local-zone: "caps.test." static
  local-data: "caps.test. 3600 IN SOA ns1.caps.test. hostmaster.caps.test. 1 7200 3600 1209600 300"
  local-data: "www.caps.test. 3600 IN A 192.0.2.120"
  local-data: "www.caps.test. 3600 IN A 192.0.2.121"
forward-zone:
  name: "."
  forward-addr: 127.0.0.1@9
EOF

cat >"$WORK/chain.test.zone" <<'ZONE'
$ORIGIN chain.test.
$TTL 3600
@       IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300
@       IN NS  ns1
ns1     IN A   192.0.2.53
start   IN CNAME middle
middle  IN CNAME end
end     IN CNAME www
www     IN A   192.0.2.80
www     IN AAAA 2001:db8::80
ZONE

unbound-checkconf "$WORK/unbound.conf" >/dev/null
unbound-checkconf "$WORK/upstream.conf" >/dev/null
unbound -d -c "$WORK/upstream.conf" >"$WORK/upstream.log" 2>&1 &
UPSTREAM_PID=$!
unbound -d -c "$WORK/unbound.conf" >"$WORK/unbound.log" 2>&1 &
UNBOUND_PID=$!

ready=0
for _ in $(seq 50); do
  if kdig @127.0.0.1 -p "$PORT" +retry=0 +timeout=1 +short example.test SOA >/dev/null 2>&1 &&
     kdig @::1 -p "$PORT" +retry=0 +timeout=1 +short example.test SOA >/dev/null 2>&1 &&
     kdig @127.0.0.1 -p "$UP_PORT" +retry=0 +timeout=1 +short caps.test SOA >/dev/null 2>&1; then
    ready=1; break
  fi
  kill -0 "$UNBOUND_PID" 2>/dev/null && kill -0 "$UPSTREAM_PID" 2>/dev/null || break
  sleep 0.2
done
if [[ $ready -ne 1 ]]; then
  echo "capture.sh: unbound did not come up:" >&2; cat "$WORK/unbound.log" "$WORK/upstream.log" >&2; exit 1
fi

# --- capture -------------------------------------------------------------------------------------
# -Z root: Debian's tcpdump otherwise drops to the tcpdump user and cannot write into $WORK.
tcpdump -i lo --immediate-mode -U -n -s 0 -Z root -w "$WORK/dns.pcap" "port $PORT or port $UP_PORT" 2>"$WORK/tcpdump.err" &
TCPDUMP_PID=$!
for _ in $(seq 100); do
  grep -q "listening on" "$WORK/tcpdump.err" && break
  kill -0 "$TCPDUMP_PID" 2>/dev/null || { cat "$WORK/tcpdump.err" >&2; exit 1; }
  sleep 0.1
done
grep -q "listening on" "$WORK/tcpdump.err" || { echo "capture.sh: tcpdump not listening" >&2; exit 1; }

# A name of exactly 255 octets in wire form: 3 x 63-octet labels, one 48-octet label, example.test.
L63=$(printf 'a%.0s' $(seq 63)); L48=$(printf 'b%.0s' $(seq 48))
LONG="$L63.$(tr a c <<<"$L63").$(tr a d <<<"$L63").$L48.example.test"

# One exchange per line: <query file or -> | <response file or -> | kdig arguments.
# Each kdig run uses its own client socket, which is how the extractor tells exchanges apart.
EXCHANGES=(
  "query_a_noedns|response_a_noedns|@127.0.0.1 +noedns www.example.test A"
  "query_aaaa_edns|response_aaaa_edns_opt|@127.0.0.1 +edns www.example.test AAAA"
  "query_aaaa_noedns_ipv6_transport|-|@::1 www.example.test AAAA"
  "query_a_edns_do|response_a_edns_do|@127.0.0.1 +dnssec www.example.test A"
  "query_a_cd|-|@127.0.0.1 +cdflag www.example.test A"
  "query_a_nsid|response_a_nsid|@127.0.0.1 +nsid www.example.test A"
  "query_a_ecs_v4|-|@127.0.0.1 +subnet=192.0.2.0/24 www.example.test A"
  "query_aaaa_ecs_v6|-|@127.0.0.1 +subnet=2001:db8::/56 www.example.test AAAA"
  "query_a_cookie|response_a_cookie|@127.0.0.1 +cookie www.example.test A"
  "query_a_tcp|response_a_tcp|@127.0.0.1 +tcp www.example.test A"
  "query_a_kdig_lowercases|-|@127.0.0.1 +noedns ExAmPlE.TeSt A"
  "-|-|@127.0.0.1 +noedns www.caps.test A"
  "query_a_long_name|response_nxdomain_long_name|@127.0.0.1 +noedns $LONG A"
  "query_a_use_application_dns|-|@127.0.0.1 use-application-dns.net A"
  "query_svcb_resolver_arpa|-|@127.0.0.1 _dns.resolver.arpa TYPE64"
  "query_a_norec|response_a_norec|@127.0.0.1 +norec +noedns www.example.test A"
  "query_ch_txt_version_bind|response_ch_txt_version_bind|@127.0.0.1 -c CH +noedns version.bind TXT"
  "query_a_bufsize_1232|-|@127.0.0.1 +bufsize=1232 www.example.test A"
  "query_a_padding|-|@127.0.0.1 +padding www.example.test A"
  "query_mx|response_mx|@127.0.0.1 +noedns example.test MX"
  "-|response_cname_local_data|@127.0.0.1 +noedns alias.example.test A"
  "query_a_cname_chain|response_cname_chain|@127.0.0.1 +noedns start.chain.test A"
  "-|response_nxdomain_auth_zone|@127.0.0.1 +edns nothere.chain.test AAAA"
  "-|response_txt|@127.0.0.1 +noedns txt.example.test TXT"
  "-|response_soa|@127.0.0.1 +noedns example.test SOA"
  "-|response_nxdomain_soa|@127.0.0.1 +noedns nonexistent.example.test A"
  "-|response_nodata_soa|@127.0.0.1 +noedns www.example.test MX"
  "-|response_refused|@127.0.0.1 +noedns www.refused.test A"
  "query_txt_bufsize_512|response_tc_txt|@127.0.0.1 +bufsize=512 +ignore big.example.test TXT"
)

: >"$WORK/manifest"
for ex in "${EXCHANGES[@]}"; do
  IFS='|' read -r qfile rfile args <<<"$ex"
  # shellcheck disable=SC2086  # args is a word list on purpose
  cmd="kdig -p $PORT +retry=0 +timeout=2 $args"
  # Transport as seen on the wire, for the extractor.
  proto=udp; [[ $args == *+tcp* ]] && proto=tcp
  printf '%s|%s|%s|%s|%s\n' "$qfile" "$rfile" "$proto" "$PORT" "$cmd" >>"$WORK/manifest"
  if ! timeout 10 $cmd >"$WORK/last.out" 2>&1; then
    echo "capture.sh: warning: '$cmd' failed:" >&2; cat "$WORK/last.out" >&2
  fi
  sleep 0.05
done

# The one exchange between the two unbound instances (triggered by the www.caps.test run).
printf '%s|%s|%s|%s|%s\n' query_a_mixed_case_0x20 response_a_mixed_case_0x20 udp "$UP_PORT" \
  "kdig -p $PORT +retry=0 +timeout=2 @127.0.0.1 +noedns www.caps.test A, forwarded by unbound (use-caps-for-id: yes) to 127.0.0.1@$UP_PORT" \
  >>"$WORK/manifest"

sleep 0.5
kill -TERM "$TCPDUMP_PID"
wait "$TCPDUMP_PID" 2>/dev/null || true
TCPDUMP_PID=""

# --- extract -------------------------------------------------------------------------------------
python3 - "$WORK/dns.pcap" "$WORK/manifest" "$OUT" "$PORT" "$UP_PORT" <<'PY'
import struct, sys

pcap_path, manifest_path, out_dir = sys.argv[1], sys.argv[2], sys.argv[3]
server_ports = {int(sys.argv[4]), int(sys.argv[5])}

def packets(path):
    data = open(path, 'rb').read()
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        e = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '>'
    else:
        sys.exit('not a classic pcap file')
    linktype = struct.unpack(e + 'I', data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        _, _, incl, orig = struct.unpack(e + 'IIII', data[off:off + 16])
        off += 16
        frame = data[off:off + incl]
        off += incl
        if incl != orig:
            sys.exit('truncated frame in capture')
        if linktype == 1:          # Ethernet (Linux lo)
            ethertype, l3 = struct.unpack('!H', frame[12:14])[0], frame[14:]
        elif linktype == 113:      # Linux cooked v1
            ethertype, l3 = struct.unpack('!H', frame[14:16])[0], frame[16:]
        elif linktype == 276:      # Linux cooked v2
            ethertype, l3 = struct.unpack('!H', frame[0:2])[0], frame[20:]
        elif linktype in (12, 101):  # raw IP
            ethertype = 0x0800 if frame[0] >> 4 == 4 else 0x86dd
            l3 = frame
        else:
            sys.exit(f'unsupported link type {linktype}')
        if ethertype == 0x0800:
            ihl = (l3[0] & 0x0f) * 4
            total = struct.unpack('!H', l3[2:4])[0]
            proto, src, dst, l4 = l3[9], l3[12:16], l3[16:20], l3[ihl:total]
        elif ethertype == 0x86dd:
            plen = struct.unpack('!H', l3[4:6])[0]
            proto, src, dst, l4 = l3[6], l3[8:24], l3[24:40], l3[40:40 + plen]
        else:
            continue
        if proto == 17:
            sport, dport, ulen = struct.unpack('!HHH', l4[:6])
            yield 'udp', src, sport, dst, dport, None, l4[8:ulen]
        elif proto == 6:
            sport, dport, seq = struct.unpack('!HHI', l4[:8])
            doff = (l4[12] >> 4) * 4
            yield 'tcp', src, sport, dst, dport, seq, l4[doff:]

# Group packets by (client socket, server port), in order of first appearance.
flows = {}
for proto, src, sport, dst, dport, seq, payload in packets(pcap_path):
    if dport in server_ports:
        key, direction = (proto, src, sport, dport), 'q'
    elif sport in server_ports:
        key, direction = (proto, dst, dport, sport), 'r'
    else:
        continue
    f = flows.setdefault(key, {'q': [], 'r': [], 'tcp': {'q': {}, 'r': {}}})
    if proto == 'udp':
        f[direction].append(payload)
    elif payload:
        f['tcp'][direction].setdefault(seq, payload)  # drop retransmissions

def tcp_messages(segments):
    stream = b''.join(segments[s] for s in sorted(segments))
    msgs = []
    while len(stream) >= 2:
        n = struct.unpack('!H', stream[:2])[0]
        if len(stream) < 2 + n:
            sys.exit('incomplete TCP DNS message')
        msgs.append(stream[2:2 + n])
        stream = stream[2 + n:]
    return msgs

exchanges = []
for key, f in flows.items():
    if key[0] == 'tcp':
        f['q'], f['r'] = tcp_messages(f['tcp']['q']), tcp_messages(f['tcp']['r'])
    exchanges.append((key, f))

manifest = [line.rstrip('\n').split('|', 4) for line in open(manifest_path)]
pairs = []
for sp in sorted(server_ports):
    ex = [e for e in exchanges if e[0][3] == sp]
    mf = [m for m in manifest if int(m[3]) == sp]
    if len(ex) != len(mf):
        sys.exit(f'port {sp}: {len(ex)} client flows in the capture, {len(mf)} expected')
    pairs += zip(ex, mf)

def header_summary(b):
    qid, flags, qd, an, ns, ar = struct.unpack('!HHHHHH', b[:12])
    return f'id=0x{qid:04x} flags=0x{flags:04x} qd={qd} an={an} ns={ns} ar={ar}'

def write(name, role, cmd, proto, key, msg):
    where = 'TCP, without the 2-octet length prefix' if proto == 'tcp' else 'UDP payload'
    fam = 'IPv6 ::1' if len(key[1]) == 16 else 'IPv4 127.0.0.1'
    lines = [f'# {cmd}  ({role})' if cmd.startswith('kdig') else f'# {role}: {cmd}',
             f'# {len(msg)} octets, {where}, over {fam}; {header_summary(msg)}']
    lines += [' '.join(f'{x:02x}' for x in msg[i:i + 16]) for i in range(0, len(msg), 16)]
    with open(f'{out_dir}/{name}.hex', 'w') as fh:
        fh.write('\n'.join(lines) + '\n')
    print(f'{name}.hex: {len(msg)} octets, {header_summary(msg)}')

for (key, f), (qfile, rfile, proto, _, cmd) in pairs:
    if key[0] != proto:
        sys.exit(f'flow order mismatch at {cmd}: saw {key[0]}, expected {proto}')
    if len(f['q']) != 1 or len(f['r']) != 1:
        sys.exit(f'{cmd}: expected one query and one response, got {len(f["q"])}/{len(f["r"])}')
    if f['q'][0][:2] != f['r'][0][:2]:
        sys.exit(f'{cmd}: response ID does not match the query ID')
    if qfile != '-':
        write(qfile, 'query sent by ' + ('unbound' if 'forwarded' in cmd else 'kdig'), cmd, proto, key, f['q'][0])
    if rfile != '-':
        write(rfile, "unbound's response", cmd, proto, key, f['r'][0])
PY
