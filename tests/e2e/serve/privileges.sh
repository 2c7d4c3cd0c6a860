#!/usr/bin/env bash
# Both daemons fail closed on privileges, and `workers = 0` counts the CPUs serve may use. As root
# on loopback: a `user` that does not exist (or an empty one) is refused at startup with its name
# and a non-zero exit, also by --check-config; started as root with user "nobody", serve and the
# witness end up with nobody's ids, no capability, no_new_privs, and not dumpable (/proc/PID is
# then root's: nobody cannot read the daemon's environment, although it runs as nobody); root is
# kept only when named. `taskset -c 0 serve --workers 0` starts one worker, and so does a cgroup
# CPU quota of one CPU.
# Usage: DNSFENCE=build/apps/dnsfence/dnsfence tests/e2e/serve/privileges.sh
source "$(dirname "$0")/lib.sh"
cg=""
trap 'cleanup; if [[ -n $cg && -d $cg ]]; then rmdir "$cg" || true; fi' EXIT
if [[ $(id -u) -ne 0 ]] || ! getent passwd nobody >/dev/null; then
  echo "skipped: needs root and the user nobody"
  exit 77
fi
MISSING=dnsfence-e2e-no-such-user
getent passwd $MISSING >/dev/null && { echo "user $MISSING exists here"; exit 1; }
LISTEN=127.0.54.10
PORT=$(free_port $LISTEN) WPORT=$(free_port $LISTEN) APORT=$(free_port 127.0.0.1)

# refused NAME CMD...: the command exits non-zero within 10 s (it must not run on as root) and
# its output names the user.
refused() {
  local name=$1 out rc=0
  shift
  out=$(timeout 10 "$@" 2>&1) || rc=$?
  [[ $rc -ne 0 && $rc -ne 124 ]] && grep -qF "'$name'" <<<"$out" && return 0
  echo "  rc=$rc: $(head -n 3 <<<"$out")"
  return 1
}
serve=("$DNSFENCE" serve --listen "$LISTEN:$PORT" --upstream 127.0.0.1:9 --metrics "")
check "serve: a missing user is refused by name" refused $MISSING "${serve[@]}" --user $MISSING
check "serve: an empty user is refused" refused "" "${serve[@]}" --user ""
printf '[serve]\nupstreams = ["127.0.0.1:9"]\nuser = "%s"\n' $MISSING >"$WORK/missing.toml"
check "serve --check-config: a missing user is refused" refused $MISSING "$DNSFENCE" serve --check-config \
  --config "$WORK/missing.toml"
printf '[serve]\nupstreams = ["127.0.0.1:9"]\nuser = ""\n' >"$WORK/empty.toml"
check "serve: user = \"\" is refused at its line" sh -c \
  "'$DNSFENCE' serve --check-config --config '$WORK/empty.toml' 2>&1 | grep -q 'empty.toml:3:.*serve.user must not be empty'"
witness=("$DNSFENCE" witness serve --zone witness.test --listen "$LISTEN:$WPORT" --api "127.0.0.1:$APORT")
check "witness: a missing user is refused by name" refused $MISSING "${witness[@]}" --user $MISSING
printf '[witness]\nzone = "witness.test"\nlisten = ["%s:%s"]\nuser = "%s"\n' $LISTEN "$WPORT" $MISSING \
  >"$WORK/witness-missing.toml"
check "witness: a missing user in the file is refused by name" refused $MISSING "$DNSFENCE" witness serve \
  --config "$WORK/witness-missing.toml"
check "witness --check-config: a missing user is refused" refused $MISSING "$DNSFENCE" witness serve \
  --config "$WORK/witness-missing.toml" --check-config

# start NAME PATTERN CMD...: runs CMD in the background, logging to NAME.log, until PATTERN is
# logged (both daemons log the privilege drop before they serve). Sets PID.
start() {
  local name=$1 pattern=$2
  shift 2
  "$@" >"$WORK/$name.log" 2>&1 &
  PID=$!
  PIDS+=("$PID")
  wait_until 10 grep -q "$pattern" "$WORK/$name.log" || { echo "  $name: $(tail -n 3 "$WORK/$name.log")"; return 1; }
}
status_field() { awk -v f="$2:" '$1 == f {$1 = ""; print substr($0, 2)}' "/proc/$1/status"; }
# dropped PID: nobody's ids in every slot, no capability, no_new_privs, not dumpable.
dropped() {
  local pid=$1 nobody
  nobody=$(id -u nobody)
  [[ $(status_field "$pid" Uid | xargs) == "$nobody $nobody $nobody $nobody" ]] || { echo "  Uid: $(status_field "$pid" Uid)"; return 1; }
  [[ $(status_field "$pid" Gid | awk '{print $1}') == "$(id -g nobody)" ]] || { echo "  Gid: $(status_field "$pid" Gid)"; return 1; }
  [[ -z $(status_field "$pid" Groups) ]] || { echo "  Groups: $(status_field "$pid" Groups)"; return 1; }
  for c in CapInh CapPrm CapEff CapAmb; do
    [[ $(status_field "$pid" $c) == 0000000000000000 ]] || { echo "  $c: $(status_field "$pid" $c)"; return 1; }
  done
  [[ $(status_field "$pid" NoNewPrivs) == 1 ]] || { echo "  NoNewPrivs: $(status_field "$pid" NoNewPrivs)"; return 1; }
  # Not dumpable: the kernel gives the files of /proc/PID (not the directory) to root, and a
  # process of the same user may not read its memory or environment.
  [[ $(stat -c %u "/proc/$pid/environ") == 0 ]] || { echo "  /proc/$pid/environ owned by $(stat -c %u "/proc/$pid/environ")"; return 1; }
  if runuser -u nobody -- cat "/proc/$pid/environ" >/dev/null 2>&1; then
    echo "  nobody could read /proc/$pid/environ"
    return 1
  fi
}
stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

if start serve-nobody "running as user nobody" "${serve[@]}" --user nobody --workers 1; then
  check "serve as nobody: ids, no capability, no_new_privs, not dumpable" dropped "$PID"
  check "serve as nobody still answers its canary" sh -c \
    "kdig @$LISTEN -p $PORT +time=2 +retry=0 use-application-dns.net | grep -q NXDOMAIN"
  stop "$PID"
else
  fail "serve as nobody started"
fi
if start witness-nobody "running as user nobody" "${witness[@]}" --user nobody; then
  check "witness as nobody: ids, no capability, no_new_privs, not dumpable" dropped "$PID"
  check "witness as nobody still answers its zone" sh -c \
    "kdig @$LISTEN -p $WPORT +time=2 +retry=0 witness.test SOA | grep -q NOERROR"
  check "witness as nobody still serves its API" curl -sf "http://127.0.0.1:$APORT/healthz"
  stop "$PID"
else
  fail "witness as nobody started"
fi
if start serve-root "running as root" "${serve[@]}" --user root --workers 1; then
  check "serve with user root named: uid 0, no_new_privs, not dumpable" sh -c \
    "grep -q '^Uid:[[:space:]]*0' /proc/$PID/status && grep -q '^NoNewPrivs:[[:space:]]*1' /proc/$PID/status \
     && ! runuser -u nobody -- cat /proc/$PID/environ >/dev/null 2>&1"
  stop "$PID"
else
  fail "serve with user root started"
fi

# workers = 0: the CPUs serve may run on, not the machine's.
if start serve-taskset "workers, listening" taskset -c 0 "${serve[@]}" --user nobody --workers 0; then
  check "taskset -c 0: workers = 0 starts 1 worker" grep -q "dnsfence serve: 1 workers" "$WORK/serve-taskset.log"
  stop "$PID"
else
  fail "serve under taskset started"
fi
# A cgroup (v1 cpu controller, or v2 with cpu delegated) holding serve to one CPU's worth of time.
cg=""
if [[ $(nproc) -ge 2 && -w /sys/fs/cgroup/cpu/cgroup.procs ]]; then
  cg=/sys/fs/cgroup/cpu/dnsfence-e2e-$$
  mkdir "$cg" && echo 100000 >"$cg/cpu.cfs_period_us" && echo 100000 >"$cg/cpu.cfs_quota_us"
  in_cgroup=(sh -c "echo \$\$ > $cg/cgroup.procs && exec \"\$@\"" sh)
elif [[ $(nproc) -ge 2 && -f /sys/fs/cgroup/cgroup.controllers ]] && grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control; then
  cg=/sys/fs/cgroup/dnsfence-e2e-$$
  mkdir "$cg" && echo "100000 100000" >"$cg/cpu.max"
  in_cgroup=(sh -c "echo \$\$ > $cg/cgroup.procs && exec \"\$@\"" sh)
fi
if [[ -n $cg ]]; then
  if start serve-quota "workers, listening" "${in_cgroup[@]}" "${serve[@]}" --user nobody --workers 0; then
    check "a quota of one CPU ($(nproc) CPUs here): workers = 0 starts 1 worker" \
      grep -q "dnsfence serve: 1 workers" "$WORK/serve-quota.log"
    stop "$PID"
  else
    fail "serve in a cgroup started"
  fi
  rmdir "$cg" || echo "note: could not remove $cg"
else
  echo "note: no writable cgroup cpu controller or a single CPU: the quota case is covered by unit tests only"
fi
finish
