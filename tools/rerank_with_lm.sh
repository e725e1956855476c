#!/usr/bin/env bash
# Reranks a translation model's n-best lists with a target-side language
# model: score = tm + w * lm, where tm is the translation's length-normalised
# log-probability (as `translate --n-best` prints it) and lm the language
# model's log-probability per piece (`rosetta score`). w is chosen on the
# validation set (a grid from 0 to 1) and then applied to the test set; the
# script prints the test BLEU with w = 0 (the translator's own best) and with
# the chosen w, as JSON lines, with the CPU and its flags.
#
#   tools/rerank_with_lm.sh TM.ckpt LM.ckpt [VALID_SRC VALID_REF TEST_SRC TEST_REF] [N]
# Defaults: Multi30k En->De val and test_2016_flickr under data/, N = 5.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: tools/rerank_with_lm.sh TM.ckpt LM.ckpt [VALID_SRC VALID_REF TEST_SRC TEST_REF] [N]" >&2; exit 2; }
tm="$1" lm="$2"
valid_src="${3:-data/multi30k/val.en}" valid_ref="${4:-data/multi30k/val.de}"
test_src="${5:-data/multi30k/test_2016_flickr.en}" test_ref="${6:-data/multi30k/test_2016_flickr.de}"
n="${7:-5}"
tools/install_packages.sh python3
[ -x build/rosetta ] || tools/setup.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "{\"cpu\":\"$(lscpu | sed -n 's/^Model name: *//p')\",\"flags\":\"$(grep -o -w -E 'avx512_bf16|amx_bf16|amx_tile|avx512_vnni|avx_vnni' /proc/cpuinfo | sort -u | tr '\n' ' ' | sed 's/ $//')\"}"

# $1 name, $2 source: n-best lists, their texts, the LM's scores.
nbest() {
  build/rosetta translate -m "$tm" -i "$2" -o "$work/$1.nbest" --beam-size "$n" --n-best "$n" --threads 2 2> "$work/$1.log"
  awk -F ' \\|\\|\\| ' '{print $2}' "$work/$1.nbest" > "$work/$1.hyps"
  build/rosetta score -m "$lm" -i "$work/$1.hyps" --threads 2 > "$work/$1.lm" 2>> "$work/$1.log"
}
nbest valid "$valid_src"
nbest test "$test_src"

# $1 name, $2 w: the reranked best of each line.
pick() {
  python3 - "$work/$1.nbest" "$work/$1.lm" "$2" <<'PY'
import json, sys
nbest, lm, w = sys.argv[1], sys.argv[2], float(sys.argv[3])
best = {}
with open(nbest, encoding="utf-8") as hyps, open(lm) as scores:
    for hyp, score in zip(hyps, scores):
        line, text, tm = hyp.rstrip("\n").split(" ||| ")
        s = json.loads(score)
        total = float(tm) + w * s["log_prob"] / s["tokens"]
        if int(line) not in best or total > best[int(line)][0]:
            best[int(line)] = (total, text)
for line in sorted(best):
    print(best[line][1])
PY
}
bleu() { build/rosetta bleu --ref "$1" --hyp "$2" --json | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["score"])'; }

best_w=0 best_bleu=-1
for w in 0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.0; do
  pick valid "$w" > "$work/valid.$w"
  b=$(bleu "$valid_ref" "$work/valid.$w")
  echo "{\"set\":\"valid\",\"w\":$w,\"bleu\":$b}"
  if python3 -c "import sys; sys.exit(0 if $b > $best_bleu else 1)"; then best_w=$w best_bleu=$b; fi
done
pick test 0 > "$work/test.0"
pick test "$best_w" > "$work/test.best"
echo "{\"set\":\"test\",\"w\":0,\"bleu\":$(bleu "$test_ref" "$work/test.0")}"
echo "{\"set\":\"test\",\"w\":$best_w,\"chosen_on\":\"valid\",\"bleu\":$(bleu "$test_ref" "$work/test.best")}"
