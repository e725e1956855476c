#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: the Release build, then the
# same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
#
#   tools/test.sh             both builds
#   tools/test.sh --fast      Release build only
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh
(cd build && ctest --output-on-failure -j "$(nproc)")

if [ "${1:-}" != "--fast" ]; then
  tools/setup.sh --sanitize
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
     ctest --output-on-failure -j "$(nproc)")
fi
