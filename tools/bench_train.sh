#!/usr/bin/env bash
# Training throughput of configs/multi30k-small.yaml against the PyTorch
# reference (../shared/reference), measured in the same run on this machine:
# steps 1-10 warm up, steps 11-50 are timed (the reference's protocol).
# Prints one JSON line per measurement and the ratios, with the load average;
# then our bf16 and the reference's bf16 autocast take turns PAIRS times
# (default 3): each pair's ratio and their median, fair to a VM's drift.
#
#   tools/bench_train.sh [THREADS]          default 2
#   PRECISIONS="fp32 bf16"                  our precisions (train.precision), each timed in the same run
#   REPLICAS=N                              train.replicas (default: THREADS, one thread a copy)
#   PAIRS=3                                 turns of ours (bf16) and the reference's bf16 (0: none)
#   REF_MODES="bf16 fp32_skylakex"          reference modes to run (default: bf16 fp32 fp32_skylakex;
#                                           plain fp32 takes ~10 minutes at 2 threads)
# Needs the Multi30k files under data/ (tools/get_multi30k.sh) and, for the
# reference, Debian's python3-torch and python3-sentencepiece.
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${1:-2}"
replicas="${REPLICAS:-$threads}"  # copies of the model side by side (train.replicas), one thread each by default
source tools/bench_common.sh

# Ours: the log line every 10 steps carries the window's target tokens/s.
ours() {  # $1: precision
  local log="$work/ours.$1.log"
  rm -rf "$work/run/checkpoints"
  /usr/bin/time -f "peak_rss_kb %M" build/rosetta train -c configs/multi30k-small.yaml --data-root data \
    --set train.run_dir="$work/run" --set train.max_steps=50 --set train.log_every=10 --set train.precision="$1" \
    --set train.valid_every=0 --set train.save_every=1000000 --set train.threads="$threads" \
    --set train.replicas="$replicas" > /dev/null 2> "$log"
  # Windows 2-5 are steps 11-50.
  local tps gflops rss
  tps=$(grep -o 'tgt_tok/s [0-9.]*' "$log" | awk 'NR>1 {s+=$2; n++} END {printf "%.1f", s/n}')
  gflops=$(grep -o 'GFLOP/s [0-9.]*' "$log" | awk 'NR>1 {s+=$2; n++} END {printf "%.1f", s/n}')
  rss=$(awk '/peak_rss_kb/ {printf "%.0f", $2/1024}' "$log")
  echo "{\"system\":\"rosetta_$1\",\"threads\":$threads,\"replicas\":$replicas,\"tgt_tok_per_sec\":$tps,\"product_gflops_per_sec\":$gflops,\"peak_rss_mb\":$rss,\"loadavg_1m\":$(load)}"
}

reference_run() {  # $1: label, rest: extra flags/env
  local label="$1"; shift
  local line
  line=$(cd "$work" && env "$@" "$reference/bench.sh" "$threads" ${REF_FLAGS:-} 2>&1 | tail -n 1)
  local tps rss
  tps=$(echo "$line" | grep -o ' tgt_tok/s=[0-9.]*' | cut -d= -f2)
  rss=$(echo "$line" | grep -o 'peak_rss_MB=[0-9]*' | cut -d= -f2)
  echo "{\"system\":\"torch_ref_$label\",\"threads\":$threads,\"tgt_tok_per_sec\":${tps:-null},\"peak_rss_mb\":${rss:-null},\"loadavg_1m\":$(load)}"
}

echo "{\"cpu\":\"$(lscpu | sed -n 's/^Model name: *//p')\",\"flags\":\"$(grep -o -w -E 'avx512_bf16|amx_bf16|amx_tile|avx512_vnni|avx_vnni' /proc/cpuinfo | sort -u | tr '\n' ' ' | sed 's/ $//')\"}"
ours_results=()
for precision in ${PRECISIONS:-fp32 bf16}; do
  o=$(ours "$precision"); echo "$o"
  ours_results+=("$o")
done
if [ -d "$reference" ]; then
  export TORCH_REF_RUNS="$work/torch_ref_runs"
  mkdir -p "$TORCH_REF_RUNS"
  # The same SentencePiece model for both sides of the comparison.
  cp "$work/run/spm8k.model" "$TORCH_REF_RUNS/spm8k.model"
  results=()
  for mode in ${REF_MODES:-bf16 fp32 fp32_skylakex}; do
    case "$mode" in
      bf16) r=$(REF_FLAGS=--bf16 reference_run bf16 PATH="$PATH") ;;
      fp32) r=$(reference_run fp32 PATH="$PATH") ;;
      fp32_skylakex) r=$(reference_run fp32_skylakex OPENBLAS_CORETYPE=SkylakeX) ;;
      *) echo "unknown reference mode $mode" >&2; exit 2 ;;
    esac
    echo "$r"
    results+=("$r")
  done
  python3 - "${#ours_results[@]}" "${ours_results[@]}" "${results[@]}" <<'PY'
import json, sys
n = int(sys.argv[1])
ours = [json.loads(x) for x in sys.argv[2:2 + n]]
refs = [json.loads(x) for x in sys.argv[2 + n:]]
for o in ours:
    for r in refs:
        if r["tgt_tok_per_sec"]:
            print(json.dumps({"ours": o["system"], "ratio_vs": r["system"],
                              "throughput_ratio": round(o["tgt_tok_per_sec"] / r["tgt_tok_per_sec"], 3),
                              "rss_ratio": round(o["peak_rss_mb"] / r["peak_rss_mb"], 3) if r["peak_rss_mb"] else None}))
PY
  # A VM's speed drifts within minutes and the runs above put ours first: our
  # bf16 and the reference's bf16 autocast again, taking turns PAIRS times.
  [ "${PAIRS:-3}" -gt 0 ] || exit 0
  for pair in $(seq "${PAIRS:-3}"); do
    o=$(ours bf16); r=$(REF_FLAGS=--bf16 reference_run bf16 PATH="$PATH")
    python3 -c 'import json,sys
o,r=json.loads(sys.argv[1]),json.loads(sys.argv[2])
ratio=round(o["tgt_tok_per_sec"]/r["tgt_tok_per_sec"],3) if r["tgt_tok_per_sec"] else None
print(json.dumps({"pair":int(sys.argv[3]),"ours":o["tgt_tok_per_sec"],"ref_bf16":r["tgt_tok_per_sec"],
  "throughput_ratio":ratio,"loadavg_1m":r["loadavg_1m"]}))' "$o" "$r" "$pair"
  done | tee "$work/pairs.jsonl"
  python3 -c 'import json,statistics,sys
ratios=[x for x in (json.loads(l)["throughput_ratio"] for l in open(sys.argv[1])) if x is not None]
if not ratios: sys.exit("no pair had a reference figure")
print(json.dumps({"taking_turns":len(ratios),"median_throughput_ratio_bf16_vs_ref_bf16":statistics.median(ratios),"min":min(ratios),"max":max(ratios)}))' "$work/pairs.jsonl"
fi
