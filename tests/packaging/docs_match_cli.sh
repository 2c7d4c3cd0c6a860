#!/usr/bin/env bash
# The generated man pages and completions document exactly the commands and long options that
# `dnsfence ... --help` shows: they come from the same CLI definitions and must not drift.
set -euo pipefail
dnsfence=${1:?path to dnsfence}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$dnsfence" generate man "$out"
"$dnsfence" generate bash >"$out/bash"
"$dnsfence" generate zsh >"$out/zsh"

subcommands=$("$dnsfence" --help | awk '/^Subcommands:/{on=1; next} on && NF {print $1}')
[ -n "$subcommands" ] || { echo "no subcommands found in --help"; exit 1; }
status=0
for sub in $subcommands; do
  page="$out/dnsfence-$sub.8"
  [ -s "$page" ] || { echo "missing man page for $sub"; status=1; continue; }
  grep -q "^\.BR dnsfence-$sub (8)" "$out/dnsfence.8" || { echo "dnsfence.8 does not refer to $sub"; status=1; }
  grep -qw "$sub" "$out/bash" || { echo "bash completion lacks $sub"; status=1; }
  for opt in $("$dnsfence" "$sub" --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
    grep -q -- "$(sed 's/-/\\\\-/g' <<<"$opt")" "$page" || { echo "$page lacks $opt"; status=1; }
    grep -q -- "$opt" "$out/bash" || { echo "bash completion lacks $sub $opt"; status=1; }
  done
  # Nested commands (`firewall apply`, `witness serve`) are documented in their parent's page.
  nested=$("$dnsfence" "$sub" --help | awk '/^Subcommands:/{on=1; next} on && NF {print $1}')
  for sub2 in $nested; do
    grep -q "^\.SS $(sed 's/-/\\\\-/g' <<<"$sub2")\$" "$page" || { echo "$page lacks the nested command $sub2"; status=1; }
    for opt in $("$dnsfence" "$sub" "$sub2" --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
      grep -q -- "$(sed 's/-/\\\\-/g' <<<"$opt")" "$page" || { echo "$page lacks $sub2 $opt"; status=1; }
    done
  done
done
grep -q '^#compdef dnsfence' "$out/zsh" || { echo "zsh completion header missing"; status=1; }
bash -n "$out/bash" || status=1
[ $status -eq 0 ] && echo "man pages and completions match the CLI for: $(echo $subcommands)"
exit $status
