#!/usr/bin/env bash
# Builds the .deb, installs it on this machine, checks what it installed (binary, units verified
# by systemd-analyze, man pages, completions, config, the service user), then purges it and
# checks that nothing is left. It changes the machine, so it runs only in CI (CI=true) or when
# DNSFENCE_TEST_DEB=1; otherwise it reports itself skipped (exit 77).
set -euo pipefail
build=${1:?build dir}
if [ "${CI:-}" != true ] && [ "${DNSFENCE_TEST_DEB:-}" != 1 ]; then
  echo "skipped: installs a package on this machine; set DNSFENCE_TEST_DEB=1 to run"
  exit 77
fi
if dpkg-query -W -f='${Status}' dnsfence 2>/dev/null | grep -q 'install ok installed'; then
  echo "dnsfence is already installed as a package here; refusing to replace it"
  exit 1
fi
(cd "$build" && cpack -G DEB >/dev/null)
deb=$(ls -1t "$build"/dnsfence_*.deb | head -n 1)
trap 'dpkg --purge dnsfence >/dev/null 2>&1 || true' EXIT
dpkg -i "$deb" >/dev/null
/usr/sbin/dnsfence --version | grep -q '^dnsfence '
mapfile -t units < <(dpkg -L dnsfence | grep '^/lib/systemd/system/.*\.service$' || true)
[ ${#units[@]} -eq 0 ] || systemd-analyze verify "${units[@]}"
test -s /usr/share/man/man8/dnsfence.8.gz
test -s /usr/share/bash-completion/completions/dnsfence
test -s /usr/share/zsh/vendor-completions/_dnsfence
test -s /etc/dnsfence/dnsfence.toml
getent passwd dnsfence >/dev/null
dpkg --purge dnsfence >/dev/null
trap - EXIT
for f in /usr/sbin/dnsfence "${units[@]}" /usr/share/man/man8/dnsfence.8.gz /etc/dnsfence/dnsfence.toml; do
  if [ -e "$f" ]; then echo "left behind after purge: $f"; exit 1; fi
done
if getent passwd dnsfence >/dev/null; then echo "service user left behind after purge"; exit 1; fi
echo "package $(basename "$deb"): installed, verified and purged cleanly"
