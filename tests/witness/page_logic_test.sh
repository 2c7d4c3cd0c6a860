#!/usr/bin/env bash
# The leak-test page's pure logic (src/witness/page/page.js: verdicts, stealth by timing, clock
# matching) on the fixtures of page_logic_test.html, run by the browser the page is for: headless
# Chromium loads the file and the test reads its "N passed, M failed" line from the DOM.
# Usage: page_logic_test.sh [CHROMIUM]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
chromium=${1:-chromium}
command -v "$chromium" >/dev/null || { echo "no $chromium (scripts/setup installs it)"; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
dom=$(timeout 60 "$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --user-data-dir="$profile" --allow-file-access-from-files --dump-dom "file://$here/page_logic_test.html" 2>/dev/null)
sed -n '/<pre id="out">/,/<\/pre>/p' <<<"$dom" | sed -e 's/<[^>]*>//g' -e '/^$/d'
summary=$(sed -nE 's/.*<p id="summary">([0-9]+ passed, [0-9]+ failed)<\/p>.*/\1/p' <<<"$dom")
echo "${summary:-no result: the test page did not run}"
[[ $summary =~ ^([0-9]+)\ passed,\ 0\ failed$ ]] && [ "${BASH_REMATCH[1]}" -gt 0 ]
