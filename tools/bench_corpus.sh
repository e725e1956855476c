#!/usr/bin/env bash
# Corpus memory against size: writes synthetic parallel corpora of growing
# size (Multi30k lines repeated with shuffled words) and loads each with
# bench_corpus. One JSON line per size.
#   tools/bench_corpus.sh SPM_MODEL [MAX_MILLION_LINES]     default 2
set -euo pipefail
cd "$(dirname "$0")/.."
model="$1"; max="${2:-2}"
[ -x build/bench_corpus ] || tools/setup.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for millions in 0.25 0.5 1 $max; do
  n=$(python3 -c "print(int($millions * 1000000))")
  python3 - "$n" "$work" <<'PY'
import random, sys
n, work = int(sys.argv[1]), sys.argv[2]
src = open('data/multi30k/train.en', encoding='utf-8').read().split('\n')[:-1]
tgt = open('data/multi30k/train.de', encoding='utf-8').read().split('\n')[:-1]
rng = random.Random(1)
with open(f'{work}/s', 'w', encoding='utf-8') as a, open(f'{work}/t', 'w', encoding='utf-8') as b:
    for i in range(n):
        k = i % len(src)
        ws, wt = src[k].split(), tgt[k].split()
        rng.shuffle(ws); rng.shuffle(wt)
        a.write(' '.join(ws) + '\n'); b.write(' '.join(wt) + '\n')
PY
  build/bench_corpus "$model" "$work/s" "$work/t" 2>/dev/null
done
