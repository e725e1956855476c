#!/usr/bin/env bash
# Installs Rosetta's build dependencies from Debian (only what is missing),
# then configures and builds. Idempotent and non-interactive.
#
#   tools/setup.sh               Release build in build/
#   tools/setup.sh --sanitize    ASan + UBSan build in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake pkg-config libdnnl-dev libsentencepiece-dev libyaml-cpp-dev
          libspdlog-dev libfmt-dev libcli11-dev libgtest-dev libutf8proc-dev zlib1g-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

build_dir=build
cmake_args=(-DCMAKE_BUILD_TYPE=Release)
if [ "${1:-}" = "--sanitize" ]; then
  build_dir=build-asan
  cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DROSETTA_SANITIZE=ON)
fi
cmake -S . -B "$build_dir" "${cmake_args[@]}" > /dev/null
cmake --build "$build_dir" -j "$(nproc)"
echo "setup: built $build_dir/"
