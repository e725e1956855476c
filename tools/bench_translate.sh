#!/usr/bin/env bash
# Translation speed on test_2016_flickr (1,000 lines): beam 5 and greedy at 1
# and 2 threads, sentences/s and target tokens/s, next to the PyTorch
# reference decoding the same file in the same run (its best setting: 1
# thread, batch 64; beam 5 and greedy). JSON lines, with the load average.
#
#   tools/bench_translate.sh CHECKPOINT [REFERENCE_CKPT.pt]
# Without a reference checkpoint, one is trained for 2 minutes with
# ../shared/reference/torch_ref.py (an early checkpoint, as the reference's
# README measures).
set -euo pipefail
cd "$(dirname "$0")/.."
checkpoint="$1"
ref_ckpt="${2:-}"
reference="$(realpath -m "${ROSETTA_REFERENCE:-../shared/reference}")"
input=data/multi30k/test_2016_flickr.en
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
load() { cut -d' ' -f1 /proc/loadavg; }

for threads in 1 2; do
  for beam in 5 1; do
    log="$work/t$threads.b$beam.log"
    /usr/bin/time -f "peak_rss_kb %M" build/rosetta translate -m "$checkpoint" -i "$input" -o "$work/out.txt" \
      --beam-size "$beam" --batch-size 64 --threads "$threads" 2> "$log"
    lps=$(grep -o '[0-9.]* lines/s' "$log" | cut -d' ' -f1)
    tps=$(grep -o '[0-9.]* target tokens/s' "$log" | cut -d' ' -f1)
    rss=$(awk '/peak_rss_kb/ {printf "%.0f", $2/1024}' "$log")
    echo "{\"system\":\"rosetta\",\"threads\":$threads,\"beam\":$beam,\"sentences_per_sec\":$lps,\"tgt_tokens_per_sec\":$tps,\"peak_rss_mb\":$rss,\"loadavg_1m\":$(load)}"
  done
done

[ -d "$reference" ] || exit 0
export TORCH_REF_RUNS="$work/torch_ref_runs"
mkdir -p "$TORCH_REF_RUNS"
if [ -z "$ref_ckpt" ]; then
  (cd "$work" && /usr/bin/python3 "$reference/torch_ref.py" --mode train --threads 2 --budget_min 2 \
     --out "$work/ref" > "$work/ref_train.log" 2>&1) || true
  ref_ckpt="$work/ref/ckpt.pt"
fi
for mode in beam greedy; do
  line=$(cd "$work" && /usr/bin/python3 "$reference/torch_ref.py" --mode translate --ckpt "$ref_ckpt" --decode "$mode" \
           --beam 5 --batch_size 64 --threads 1 --out "$work/ref" 2>&1 | grep '^translate' || true)
  sps=$(echo "$line" | grep -o 'sent/s=[0-9.]*' | cut -d= -f2)
  tps=$(echo "$line" | grep -o ' tok/s=[0-9.]*' | cut -d= -f2)
  echo "{\"system\":\"torch_ref\",\"threads\":1,\"beam\":$([ $mode = beam ] && echo 5 || echo 1),\"sentences_per_sec\":${sps:-null},\"tgt_tokens_per_sec\":${tps:-null},\"loadavg_1m\":$(load)}"
done
