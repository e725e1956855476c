#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: the Release build, then the
# same tests under AddressSanitizer + UndefinedBehaviorSanitizer. After each
# build, tools/check_build_deps.sh proves a fresh machine has every file it read.
#
#   tools/test.sh             both builds
#   tools/test.sh --fast      Release build only
set -euo pipefail
cd "$(dirname "$0")/.."
# ctest runs tests side by side, each with OpenMP threads: with libgomp's
# default spinning they burn each other's time slices (the Release suite
# took 47 s instead of 17 s on 2 cores). The rosetta command sets this
# itself (src/cli/openmp_waiting.h); the test binary does not.
[ -n "${GOMP_SPINCOUNT:-}${OMP_WAIT_POLICY:-}" ] || export GOMP_SPINCOUNT=1000

tools/setup.sh
tools/check_build_deps.sh build
(cd build && ctest --output-on-failure -j "$(nproc)")

if [ "${1:-}" != "--fast" ]; then
  tools/setup.sh --sanitize
  tools/check_build_deps.sh build-asan
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
     ctest --output-on-failure -j "$(nproc)")
fi
