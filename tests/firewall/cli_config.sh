#!/usr/bin/env bash
# `--config` is accepted wherever an operator writes it, for every firewall subcommand: before the
# subcommand (`firewall --config F status`, `firewall allow --config F add A`) or after it, in
# short, long and `=` forms. No root needed: `render` proves the file is read and used; the
# commands that need the kernel get a missing file and must fail on *that file*, not on usage.
set -euo pipefail
dnsfence=${1:?path to dnsfence}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
conf=$dir/fw.toml
printf '[firewall]\nmode = "block"\ninterfaces = ["wgcli7"]\n' >"$conf"
status=0

for form in "firewall --config $conf render" "firewall render --config $conf" "firewall -c $conf render" \
  "firewall render -c $conf" "firewall --config=$conf render" "firewall render --backend iptables --config $conf"; do
  # shellcheck disable=SC2086  # word splitting of $form is the point
  if ! out=$("$dnsfence" $form 2>&1) || ! grep -q wgcli7 <<<"$out"; then
    echo "FAIL: '$form' did not render $conf: $out"; status=1
  fi
done

missing=$dir/missing.toml
for form in "firewall --config $missing apply" "firewall apply --config $missing" "firewall apply -c $missing tun0 1500" \
  "firewall --config $missing remove" "firewall remove --config $missing" \
  "firewall --config $missing status" "firewall status --config $missing" "firewall status --json -c $missing" \
  "firewall --config $missing allow add 192.0.2.1" "firewall allow --config $missing add 192.0.2.1" \
  "firewall allow add --config $missing 192.0.2.1" "firewall allow add 192.0.2.1 --config $missing" \
  "firewall allow --config $missing del 192.0.2.1" "firewall allow del 192.0.2.1 -c $missing" \
  "firewall --config $missing allow list" "firewall allow --config $missing list" "firewall allow list --config $missing"; do
  set +e
  # shellcheck disable=SC2086
  out=$("$dnsfence" $form 2>&1)
  rc=$?
  set -e
  if [ $rc -ne 1 ] || [ "$out" != "dnsfence: $missing: cannot open" ]; then
    echo "FAIL: '$form': exit $rc: $out"; status=1
  fi
done

# The last --config given wins, whatever the level.
if ! "$dnsfence" firewall --config "$missing" render --config "$conf" | grep -q wgcli7; then
  echo "FAIL: the subcommand's --config does not override the one before it"; status=1
fi
[ $status -eq 0 ] && echo "ok: --config accepted before and after every firewall subcommand"
exit $status
