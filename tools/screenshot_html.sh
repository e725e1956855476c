#!/usr/bin/env bash
# Screenshots an HTML page (an attention page from `rosetta attention --out
# X.html`) with headless Chromium, to look at it without a desktop. A page's
# address part picks what it shows, e.g. '#kind=cross&layer=1&head=0&query=3'.
#
#   tools/screenshot_html.sh FILE.html [OUT.png] [#FRAGMENT] [WIDTHxHEIGHT]
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: tools/screenshot_html.sh FILE.html [OUT.png] [#FRAGMENT] [WIDTHxHEIGHT]" >&2; exit 2; }
tools/install_packages.sh chromium
in="$(realpath "$1")"; out="$(realpath -m "${2:-${1%.html}.png}")"; fragment="${3:-}"; size="${4:-1400x1000}"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="${size/x/,}" \
  --screenshot="$out" "file://$in$fragment" 2>/dev/null
echo "$out"
