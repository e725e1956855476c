#!/usr/bin/env bash
# Renders an SVG (a run's progress.svg, an attention map) to PNG with
# rsvg-convert, to look at it or paste it somewhere.
#
#   tools/render_svg.sh FILE.svg [OUT.png]     default: FILE.png beside it
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: tools/render_svg.sh FILE.svg [OUT.png]" >&2; exit 2; }
tools/install_packages.sh librsvg2-bin
in="$1"; out="${2:-${1%.svg}.png}"
rsvg-convert --background-color=white -o "$out" "$in"
echo "$out"
