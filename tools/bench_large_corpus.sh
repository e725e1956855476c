#!/usr/bin/env bash
# A WMT-sized corpus on this machine. Writes a synthetic parallel corpus of
# PAIRS pairs (default 4,500,000, WMT14 En-De's size; each pair joins two
# random Multi30k training pairs, ~25 words a side) and trains
# configs/multi30k-small.yaml on it for 30 updates:
#   - 1 process x 2 threads, first run: vocabulary, encoding, cache written
#   - 1 process x 2 threads, second run: the corpus from its cache
#   - 2 processes x 1 thread (mpirun), from the cache
#   - 1 process x 2 threads inside a memory cgroup capped at CAP_MB (default
#     1536): with the process's own memory (~1.1 GB for multi30k-small) and
#     the 1.2 GB cache file the corpus does not fit what the run may use
#     (needs root and the cgroup memory controller; skipped otherwise)
# For each: seconds until training starts, peak RSS per process (mapped
# cache pages included: they are the page cache's, shared and droppable),
# target tokens/s. JSON lines, with the CPU, its bf16/AMX flags and the load.
#
#   tools/bench_large_corpus.sh [PAIRS]      CAP_MB=1024 tools/bench_large_corpus.sh
# Needs the Multi30k files under data/ (tools/get_multi30k.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
pairs="${1:-4500000}"
source tools/bench_common.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

echo "{\"cpu\":\"$(lscpu | sed -n 's/^Model name: *//p')\",\"flags\":\"$(grep -o -w -E 'avx512_bf16|amx_bf16|amx_tile|avx512_vnni|avx_vnni' /proc/cpuinfo | sort -u | tr '\n' ' ' | sed 's/ $//')\"}"
start=$(date +%s.%N)
python3 - "$pairs" "$work" <<'PY'
import random, sys
pairs, work = int(sys.argv[1]), sys.argv[2]
en = open("data/multi30k/train.en", encoding="utf-8").read().splitlines()
de = open("data/multi30k/train.de", encoding="utf-8").read().splitlines()
rng = random.Random(1)
with open(f"{work}/big.en", "w", encoding="utf-8") as out_en, open(f"{work}/big.de", "w", encoding="utf-8") as out_de:
    for _ in range(pairs):
        a, b = rng.randrange(len(en)), rng.randrange(len(en))
        out_en.write(en[a] + " " + en[b] + "\n")
        out_de.write(de[a] + " " + de[b] + "\n")
PY
echo "{\"pairs\":$pairs,\"bytes\":$(cat "$work/big.en" "$work/big.de" | wc -c),\"generate_sec\":$(python3 -c "print(round($(date +%s.%N) - $start, 1))")}"

# $1 label, $2 launcher prefix, $3 threads
run() {
  local label="$1" launcher="$2" threads="$3" log="$work/$1.log"
  local t0; t0=$(date +%s)
  $launcher /usr/bin/time -f "peak_rss_kb %M" build/rosetta train -c configs/multi30k-small.yaml --data-root data \
    --set data.train.src="$work/big.en" --set data.train.tgt="$work/big.de" --set train.run_dir="$work/run" \
    --set train.max_steps=30 --set train.log_every=10 --set train.valid_every=0 --set train.save_every=1000000 \
    --set train.threads="$threads" --set train.replicas="$threads" > /dev/null 2> "$log"
  rm -rf "$work/run/checkpoints" "$work/run/metrics.jsonl"
  local ready tps rss
  ready=$(grep -m1 'model: ' "$log" | sed 's/^\[\([^]]*\)\].*/\1/')
  tps=$(grep -o 'tgt_tok/s [0-9.]*' "$log" | awk 'NR>1 {s+=$2; n++} END {printf "%.1f", s/n}')
  rss=$(awk '/peak_rss_kb/ {printf "%s%.0f", sep, $2/1024; sep=","}' "$log")
  echo "{\"system\":\"$label\",\"sec_until_training\":$(( $(date -d "$ready" +%s) - t0 )),\"peak_rss_mb_per_process\":[$rss],\"tgt_tok_per_sec\":${tps:-null},\"loadavg_1m\":$(load)}"
  grep -m1 'pairs in' "$log" | sed 's/^.*\] //' >&2
}

run first_load_1x2 "" 2
run from_cache_1x2 "" 2
run from_cache_2x1 "mpirun --bind-to none -np 2" 1

# The capped run: a memory cgroup (v1 or v2) holding the training process.
cap_mb="${CAP_MB:-1536}"
cache_bytes=$(stat -c %s "$work"/run/cache/corpus.*.bin | sort -n | tail -n 1)
group=""
if [ -w /sys/fs/cgroup/memory ]; then
  group=/sys/fs/cgroup/memory/rosetta_bench_$$
  mkdir "$group" && echo $((cap_mb << 20)) > "$group/memory.limit_in_bytes"
  peak_file=memory.max_usage_in_bytes
elif grep -qw memory /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; then
  group=/sys/fs/cgroup/rosetta_bench_$$
  mkdir "$group" && echo $((cap_mb << 20)) > "$group/memory.max"
  peak_file=memory.peak
fi
if [ -z "$group" ]; then
  echo "{\"system\":\"capped_1x2\",\"skipped\":\"no writable cgroup memory controller (root needed)\"}"
else
  trap 'rmdir "$group" 2>/dev/null; rm -rf "$work"' EXIT
  in_group() { bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$group" "$@"; }
  # The group's anonymous memory (the process's own), sampled each second:
  # the corpus fits no more when own + cache file > cap.
  ( peak=0; while [ -d "$group" ]; do
      a=$(awk '$1 == "rss" || $1 == "anon" {print $2; exit}' "$group/memory.stat" 2>/dev/null || echo 0)
      [ "${a:-0}" -gt "$peak" ] && peak=$a && echo "$peak" > "$work/anon_peak"
      sleep 1
    done ) &
  # Pages already in the page cache stay charged to whoever read them first:
  # drop them, so the group reads the corpus in under its cap.
  sync
  dropped=false
  if echo 1 2>/dev/null > /proc/sys/vm/drop_caches; then dropped=true; fi
  run "capped_${cap_mb}mb_1x2" in_group 2
  echo "{\"system\":\"capped_${cap_mb}mb_1x2\",\"cache_file_mb\":$((cache_bytes >> 20)),\"cap_mb\":$cap_mb,\"group_peak_mb\":$(( $(cat "$group/$peak_file") >> 20 )),\"own_anon_peak_mb\":$(( $(cat "$work/anon_peak" 2>/dev/null || echo 0) >> 20 )),\"page_cache_dropped_first\":$dropped}"
  rmdir "$group"
fi
