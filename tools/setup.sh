#!/usr/bin/env bash
# Installs Rosetta's build dependencies from Debian (only what is missing),
# then configures and builds. Idempotent and non-interactive.
#
#   tools/setup.sh               Release build in build/
#   tools/setup.sh --sanitize    ASan + UBSan build in build-asan/
#   tools/setup.sh --print-packages   the Debian packages it installs, and nothing else
set -euo pipefail
cd "$(dirname "$0")/.."

# libdnnl-dev's CMake config needs OpenCL (ocl-icd-opencl-dev is only a Recommends);
# GTest's CMake config loads GMock's targets when they are there.
# Open MPI: the library to build against and mpirun to launch several processes.
packages=(build-essential cmake pkg-config libdnnl-dev libsentencepiece-dev libyaml-cpp-dev
          libspdlog-dev libfmt-dev libcli11-dev libgtest-dev libgmock-dev libutf8proc-dev libxxhash-dev zlib1g-dev
          ocl-icd-opencl-dev libopenmpi-dev openmpi-bin nlohmann-json3-dev)
if [ "${1:-}" = "--print-packages" ]; then
  echo "${packages[*]}"
  exit 0
fi
tools/install_packages.sh "${packages[@]}"

build_dir=build
cmake_args=(-DCMAKE_BUILD_TYPE=Release)
if [ "${1:-}" = "--sanitize" ]; then
  build_dir=build-asan
  cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DROSETTA_SANITIZE=ON)
fi
cmake -S . -B "$build_dir" "${cmake_args[@]}" > /dev/null
cmake --build "$build_dir" -j "$(nproc)"
echo "setup: built $build_dir/"
