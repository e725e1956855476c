#!/usr/bin/env bash
# Engine micro-benchmark: GFLOP/s of the matmul op's forward+backward next to
# bare oneDNN primitives on the same shapes, at 1 and 2 threads (JSON lines).
#   tools/bench_engine.sh [--seconds S]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/bench_matmul ] || tools/setup.sh
exec build/bench_matmul "$@"
