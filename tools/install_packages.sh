#!/usr/bin/env bash
# Installs the named Debian packages that are missing (apt-get, as root or
# through sudo; the package lists are refreshed once first). Every package a
# script of ours needs goes through here, so a fresh machine gets it too.
#
#   tools/install_packages.sh PACKAGE ...
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0
echo "install_packages: installing ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
