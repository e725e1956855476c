#!/usr/bin/env bash
# Where training time goes: perf samples of configs/multi30k-small.yaml
# (steps 1-STEPS), grouped by symbol, with the machine's load beside them.
#
#   tools/profile_train.sh [PRECISION] [STEPS] [--set key=value ...]    default: fp32 30
set -euo pipefail
cd "$(dirname "$0")/.."
precision="${1:-fp32}"; shift || true
steps="${1:-30}"; shift || true
tools/install_packages.sh linux-perf
[ -x build/rosetta ] || tools/setup.sh
[ -s data/multi30k/train.en ] || tools/get_multi30k.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
perf record -F 499 -g -o "$work/perf.data" -- build/rosetta train -c configs/multi30k-small.yaml --data-root data \
  --set train.run_dir="$work/run" --set train.max_steps="$steps" --set train.log_every=10 --set train.valid_every=0 \
  --set train.save_every=1000000 --set train.precision="$precision" "$@" 2>&1 >/dev/null | grep -E "tgt_tok/s|precision" | sed 's/.*\] //'
perf report -i "$work/perf.data" --no-children --sort dso,symbol --percent-limit 0.7 --stdio 2>/dev/null | grep -E "^ +[0-9]" | sed -E "s/ +- +- *$//; s/ {2,}/  /g" | head -40
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
