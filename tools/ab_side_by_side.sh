#!/usr/bin/env bash
# Two builds of rosetta compared side by side: both train the same config at
# once, each on one thread pinned to a core of its own, then again with the
# cores swapped. A VM's speed drifts by 10-40% within minutes, so runs taken
# one after the other cannot tell a change of a few percent; runs taken at
# the same time see the same drift. Prints a JSON line a run (target tokens/s
# of steps 11 to STEPS, user and system CPU seconds), one a pair, and the
# median ratios B / A.
#
#   tools/ab_side_by_side.sh BINARY_A BINARY_B [ROUNDS]   default 2 rounds (two pairs a round)
#   PRECISION=bf16  STEPS=50  CONFIG=configs/multi30k-small.yaml
#
# The other side is usually another commit, built in a worktree:
#   git worktree add /tmp/base HEAD~1 && cmake -S /tmp/base -B /tmp/base/build -DCMAKE_BUILD_TYPE=Release \
#     && cmake --build /tmp/base/build -j2 --target rosetta
#   tools/ab_side_by_side.sh /tmp/base/build/rosetta build/rosetta
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  sed -n 2,16p "$0" >&2
  exit 2
fi
rounds="${3:-2}"
precision="${PRECISION:-bf16}"
steps="${STEPS:-50}"
config="${CONFIG:-configs/multi30k-small.yaml}"
for bin in "$1" "$2"; do
  [ -x "$bin" ] || { echo "ab_side_by_side: $bin is not an executable" >&2; exit 2; }
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "ab_side_by_side: ROUNDS must be a positive number, got $rounds" >&2; exit 2; }
[[ "$steps" =~ ^[0-9]+$ ]] && [ "$steps" -ge 20 ] || { echo "ab_side_by_side: STEPS must be 20 or more, got $steps" >&2; exit 2; }
[ -f "$config" ] || { echo "ab_side_by_side: no config $config" >&2; exit 2; }
tools/install_packages.sh time python3 util-linux
# The first two cores this shell may use.
read -r first_cpu second_cpu < <(python3 -c 'import os; print(*sorted(os.sched_getaffinity(0))[:2])')
if [ -z "${second_cpu:-}" ]; then
  echo "ab_side_by_side: needs two cores, this process may use one ($first_cpu)" >&2
  exit 2
fi
[ -f data/multi30k/train.en ] || tools/get_multi30k.sh
a=$(realpath "$1")
b=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

train_flags=(-c "$config" --data-root data --set train.log_every=10 --set train.precision="$precision"
             --set train.valid_every=0 --set train.save_every=1000000 --set train.threads=1 --set train.replicas=1)
# One vocabulary for both sides (a run folder without one trains it first).
"$a" train "${train_flags[@]}" --set train.run_dir="$work/vocab" --set train.max_steps=1 > "$work/vocab.log" 2>&1 ||
  { tail -n 5 "$work/vocab.log" >&2; exit 1; }
model_file=$(ls "$work/vocab"/*.model | head -n 1)

run() {  # $1 label, $2 binary, $3 cpu, $4 log
  local dir="$work/run_$1_$3"
  rm -rf "$dir" && mkdir -p "$dir" && cp "$model_file" "$dir/"
  /usr/bin/time -f "cpu_seconds %U %S" taskset -c "$3" "$2" train "${train_flags[@]}" --set train.run_dir="$dir" \
    --set train.max_steps="$steps" > "$4" 2>&1
}

summary() {  # $1 label, $2 cpu, $3 log: one JSON line
  local tps cpu
  tps=$(grep -o 'tgt_tok/s [0-9.]*' "$3" | awk 'NR>1 {s+=$2; n++} END {if (n) printf "%.1f", s/n; else print "null"}')
  cpu=$(awk '/^cpu_seconds/ {printf "%s,%s", $2, $3}' "$3")
  echo "{\"side\":\"$1\",\"cpu\":$2,\"tgt_tok_per_sec\":$tps,\"user_s\":${cpu%,*},\"sys_s\":${cpu#*,}}"
}

echo "{\"cpu_model\":\"$(lscpu | sed -n 's/^Model name: *//p')\",\"flags\":\"$(grep -o -w -E 'avx512_bf16|amx_bf16|amx_tile|avx512_vnni|avx_vnni' /proc/cpuinfo | sort -u | tr '\n' ' ' | sed 's/ $//')\",\"a\":\"$a\",\"b\":\"$b\",\"precision\":\"$precision\",\"steps\":$steps,\"loadavg_1m\":$(cut -d' ' -f1 /proc/loadavg)}"
pair=0
for round in $(seq "$rounds"); do
  for swap in 0 1; do
    pair=$((pair + 1))
    cpu_a=$first_cpu cpu_b=$second_cpu
    [ "$swap" -eq 0 ] || { cpu_a=$second_cpu; cpu_b=$first_cpu; }
    run a "$a" "$cpu_a" "$work/a.log" &
    pid_a=$!
    run b "$b" "$cpu_b" "$work/b.log" || { tail -n 5 "$work/b.log" >&2; exit 1; }
    wait "$pid_a" || { tail -n 5 "$work/a.log" >&2; exit 1; }
    line_a=$(summary a "$cpu_a" "$work/a.log")
    line_b=$(summary b "$cpu_b" "$work/b.log")
    echo "$line_a"
    echo "$line_b"
    python3 -c 'import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps({"pair": int(sys.argv[3]), "throughput_ratio_b_over_a": round(b["tgt_tok_per_sec"] / a["tgt_tok_per_sec"], 4),
                  "user_time_ratio_b_over_a": round(b["user_s"] / a["user_s"], 4)}))' "$line_a" "$line_b" "$pair" |
      tee -a "$work/pairs.jsonl"
  done
done
python3 -c 'import json, statistics, sys
pairs = [json.loads(l) for l in open(sys.argv[1])]
t = [p["throughput_ratio_b_over_a"] for p in pairs]
u = [p["user_time_ratio_b_over_a"] for p in pairs]
print(json.dumps({"pairs": len(pairs), "median_throughput_ratio_b_over_a": statistics.median(t), "min": min(t), "max": max(t),
                  "median_user_time_ratio_b_over_a": statistics.median(u)}))' "$work/pairs.jsonl"
