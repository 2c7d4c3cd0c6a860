# shellcheck shell=bash
# Shared helpers of the leaktest end-to-end scripts (sourced). lt_begin makes the namespaces, a
# private temporary directory `work` and the array `pids` of processes to stop, and traps the
# teardown of all of them.
ZONE=leaktest.dnsfence.example
work=
pids=()
LT_NS=()

# lt_require TOOL...: exits 77 (the test is skipped) unless run as root with every TOOL installed.
lt_require() {
  local tool
  [[ $(id -u) == 0 ]] || { echo "SKIP: needs root"; exit 77; }
  for tool in "$@"; do command -v "$tool" >/dev/null || { echo "SKIP: no $tool"; exit 77; }; done
}

# lt_begin TAG CLIENT_NS OTHER_NS...: removes what a previous run may have left, then creates the
# namespaces (loopback up) and $work; on exit, stops $pids and removes the namespaces, the
# client's /etc/netns/CLIENT_NS (its resolv.conf) and $work.
lt_begin() {
  local tag=$1 ns
  shift
  LT_NS=("$@")
  work=$(mktemp -d "/tmp/$tag.XXXXXX")
  trap lt_teardown EXIT
  for ns in "${LT_NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  for ns in "${LT_NS[@]}"; do ip netns add "$ns" && nx "$ns" ip link set lo up; done
}

lt_teardown() {
  local p ns
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for ns in "${LT_NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "/etc/netns/${LT_NS[0]}" "$work"
}

# veth NS_A DEV_A ADDR_A NS_B DEV_B ADDR_B: a link between two namespaces, addressed and up.
veth() {
  ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
  nx "$1" ip addr add "$3" dev "$2"
  nx "$1" ip link set "$2" up
  nx "$4" ip addr add "$6" dev "$5"
  nx "$4" ip link set "$5" up
}

nx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

wait_for() {  # wait_for SECONDS CMD...: polls until CMD succeeds, fails the test at the deadline
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "FAIL: timed out waiting for: $*"; exit 1; }
    sleep 0.1
  done
}

# unbound_conf FILE ADDR MODE [ARG]: a resolver that logs every query to FILE.log.
#   answer IP  answers every name under $ZONE with IP, without asking anyone (a forger if IP is wrong)
#   stealth    logs and never answers (the paper's Stealth DNS server)
#   stub AUTH  resolves $ZONE by asking the authority AUTH
unbound_conf() {
  local file=$1 addr=$2 mode=$3 arg=${4:-}
  {
    printf 'server:\n  interface: %s\n  port: 53\n  do-ip6: no\n  chroot: ""\n  username: ""\n' "$addr"
    printf '  pidfile: ""\n  directory: "%s"\n  use-syslog: no\n  logfile: "%s.log"\n' "$work" "$file"
    printf '  verbosity: 1\n  log-queries: yes\n  num-threads: 1\n  module-config: "iterator"\n'
    printf '  qname-minimisation: no\n  access-control: 0.0.0.0/0 allow\n'
    case $mode in
      stealth) printf '  access-control-view: 0.0.0.0/0 stealth\nview:\n  name: "stealth"\n  local-zone: "." deny\n' ;;
      answer) printf '  local-zone: "%s." redirect\n  local-data: "%s. 60 IN A %s"\n' "$ZONE" "$ZONE" "$arg" ;;
      stub) printf '  do-not-query-localhost: no\nstub-zone:\n  name: "%s."\n  stub-addr: %s\n' "$ZONE" "$arg" ;;
    esac
    printf 'remote-control:\n  control-enable: no\n'
  } >"$file"
}

start_unbound() {  # start_unbound NS NAME ADDR MODE [ARG]; its log is $work/NAME.conf.log
  unbound_conf "$work/$2.conf" "$3" "$4" "${5:-}"
  ip netns exec "$1" unbound -d -c "$work/$2.conf" >"$work/$2.out" 2>&1 &
  pids+=($!)
}

verdicts() {  # verdicts REPORT.json ADDRESS: the sorted verdicts about one resolver
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))
print(" ".join(sorted(f["verdict"] for f in r["findings"] if f["resolver"]==sys.argv[2])))' "$1" "$2"
}
