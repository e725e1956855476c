#!/usr/bin/env bash
# Engine micro-benchmarks (JSON lines): GFLOP/s of the matmul op's
# forward+backward next to bare oneDNN primitives on the same shapes, then
# each fused training op against the ops it replaces (taking turns in one
# process), at 1 and 2 threads.
#   tools/bench_engine.sh [--seconds S]      (S: per matmul measurement)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/bench_matmul ] && [ -x build/bench_fusions ] || tools/setup.sh
build/bench_matmul "$@"
build/bench_fusions
