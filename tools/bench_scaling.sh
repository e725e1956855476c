#!/usr/bin/env bash
# Data-parallel scaling on this machine, one run: configs/multi30k-small.yaml
# as 1 process x 2 threads (update_freq 2) against 2 processes x 1 thread
# (update_freq 1): the same effective batch. Steps 1-10 warm up, 11-50 are
# timed. Then the gradient sum of one update (bench_allreduce) through shared
# memory and through TCP, and from it and the measured update time a
# projection of the speed-up on 2-16 machines at 1, 10 and 25 Gb/s.
# Prints JSON lines, with the CPU, its bf16/AMX flags and the load average.
#
#   tools/bench_scaling.sh [PRECISION]      fp32 | bf16 | auto (default auto)
#   SHAPED_GBIT=1                           also: 2 processes over TCP with the loopback shaped to
#                                           this rate (tc, as root), the gradient sum in one bucket
#                                           (after the backward pass) against 4 MB buckets (overlapped)
# Needs the Multi30k files under data/ (tools/get_multi30k.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
precision="${1:-auto}"
source tools/bench_common.sh
[ -x build/bench_allreduce ] || cmake --build build --target bench_allreduce -j "$(nproc)" > /dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # CI and these machines run as root
mpirun=(mpirun --bind-to none --oversubscribe)

echo "{\"cpu\":\"$(lscpu | sed -n 's/^Model name: *//p')\",\"flags\":\"$(grep -o -w -E 'avx512_bf16|amx_bf16|amx_tile|avx512_vnni|avx_vnni' /proc/cpuinfo | sort -u | tr '\n' ' ' | sed 's/ $//')\"}"

# $1 label, $2 launcher prefix ("" or mpirun), $3 threads, $4 update_freq, $5 train.bucket_mb
run() {
  local label="$1" launcher="$2" threads="$3" update_freq="$4" bucket_mb="${5:-4}" dir="$work/$1"
  mkdir -p "$dir"
  # The vocabulary and the encoded corpus of the first run serve the others.
  [ -d "$work/first" ] && cp -r "$work/first/." "$dir/" && rm -rf "$dir/checkpoints" "$dir/metrics.jsonl"
  $launcher /usr/bin/time -f "peak_rss_kb %M" build/rosetta train -c configs/multi30k-small.yaml --data-root data \
    --set train.run_dir="$dir" --set train.max_steps=50 --set train.log_every=10 --set train.precision="$precision" \
    --set train.valid_every=0 --set train.save_every=1000000 --set train.threads="$threads" \
    --set train.replicas="$threads" --set train.update_freq="$update_freq" --set train.bucket_mb="$bucket_mb" > /dev/null 2> "$dir.log"
  [ -d "$work/first" ] || { mkdir -p "$work/first"; cp -r "$dir/spm8k.model" "$dir/cache" "$work/first/"; }
  local tps rss sec
  tps=$(grep -o 'tgt_tok/s [0-9.]*' "$dir.log" | awk 'NR>1 {s+=$2; n++} END {printf "%.1f", s/n}')
  rss=$(awk '/peak_rss_kb/ {printf "%s%.0f", sep, $2/1024; sep=","}' "$dir.log")
  # Seconds an update from the log lines at steps 10 and 50 (no validation, no saving between).
  sec=$(python3 -c "
import json,sys
e={}
for l in open('$dir/metrics.jsonl'):
    d=json.loads(l)
    if d.get('type')=='train': e[d['step']]=d['elapsed_sec']
print('%.4f' % ((e[50]-e[10])/40))")
  echo "{\"system\":\"$label\",\"tgt_tok_per_sec\":$tps,\"sec_per_update\":$sec,\"peak_rss_mb_per_process\":[$rss],\"loadavg_1m\":$(load)}"
}

one=$(run one_process_2_threads "" 2 2); echo "$one"
two=$(run two_processes_1_thread "${mpirun[*]} -np 2" 1 1); echo "$two"
python3 -c "
import json; a=json.loads('$one'); b=json.loads('$two')
print(json.dumps({'ratio_2x1_over_1x2': round(b['tgt_tok_per_sec']/a['tgt_tok_per_sec'], 3)}))"

shm=$("${mpirun[@]}" -np 2 build/bench_allreduce); echo "${shm%\}},\"transport\":\"shared memory\"}"
tcp=$("${mpirun[@]}" -np 2 --mca btl tcp,self build/bench_allreduce); echo "${tcp%\}},\"transport\":\"tcp loopback\"}"

# One machine of a cluster: 1 process x 2 threads, one batch an update.
python3 - "$one" "$shm" <<'PY'
import json, sys
one, shm = json.loads(sys.argv[1]), json.loads(sys.argv[2])
step = one["sec_per_update"] / 2            # one batch on 2 threads
floats = shm["floats"]
local = shm["median_sec"]                   # copies and adds, measured through shared memory
backward = 2 / 3 * step                     # where an overlapped sum could hide
for gbit in (1, 10, 25):
    for n in (2, 4, 8, 16):
        comm = 2 * (n - 1) / n * 4 * floats * 8 / (gbit * 1e9)
        plain = n * step / (step + comm + local)
        overlapped = n * step / (step + max(0.0, comm - backward) + local)
        print(json.dumps({"machines": n, "gbit_per_sec": gbit, "sec_per_batch": round(step, 4),
                          "sum_sec": round(comm + local, 4), "speedup": round(plain, 2),
                          "speedup_if_overlapped": round(overlapped, 2), "communication_hidden": comm <= backward}))
PY

if [ -n "${SHAPED_GBIT:-}" ]; then
  tools/install_packages.sh iproute2
  tc qdisc add dev lo root tbf rate "${SHAPED_GBIT}gbit" burst 256kb latency 50ms
  trap 'tc qdisc del dev lo root 2> /dev/null; rm -rf "$work"' EXIT
  over_tcp="${mpirun[*]} --mca btl tcp,self -np 2"
  run "tcp_${SHAPED_GBIT}gbit_one_bucket" "$over_tcp" 1 1 100000
  run "tcp_${SHAPED_GBIT}gbit_4mb_buckets_overlapped" "$over_tcp" 1 1 4
fi
