#!/usr/bin/env bash
# The main job on a fresh machine: install, build, fetch Multi30k, train
# configs/quickstart.yaml (10 minutes), translate test_2016_flickr with beam 5
# and print its sacreBLEU-compatible score.
#
#   tools/quickstart.sh                                   downloads Multi30k
#   MULTI30K_DIR=/path/to/multi30k tools/quickstart.sh    uses a local copy
#   tools/quickstart.sh --fresh                           starts over (the old run is kept aside)
#
# Run again in the same checkout, it goes on with runs/quickstart: an
# interrupted run resumes from its last checkpoint; a finished one is not
# trained further, its model is translated and scored again.
set -euo pipefail
cd "$(dirname "$0")/.."

fresh=0
for arg in "$@"; do
  case "$arg" in
    --fresh) fresh=1 ;;
    *) echo "quickstart: unknown option $arg (only --fresh)" >&2; exit 2 ;;
  esac
done

tools/setup.sh
tools/get_multi30k.sh
run_dir=runs/quickstart
if [ -d "$run_dir" ]; then
  if [ "$fresh" = 1 ]; then
    aside="$run_dir.$(date +%Y%m%d-%H%M%S)"
    mv "$run_dir" "$aside"
    echo "quickstart: starting over; the previous run is now in $aside"
  else
    echo "quickstart: $run_dir exists: going on with it (an interrupted run resumes, a finished one is scored again);" \
         "tools/quickstart.sh --fresh starts over"
  fi
fi
summary=$(build/rosetta train --config configs/quickstart.yaml --data-root data | tail -n 1)
echo "$summary"
# The model to use, as the run names it: the better of best.ckpt and final.ckpt
# (the mean of the last checkpoints) on validation.
checkpoint=$(sed -n 's/.*"model_checkpoint":"\([^"]*\)".*/\1/p' <<<"$summary")
[ -n "$checkpoint" ] || { echo "quickstart: the training summary names no model: $summary" >&2; exit 1; }
echo "quickstart: translating test_2016_flickr with $checkpoint"
build/rosetta translate --model "$checkpoint" --input data/multi30k/test_2016_flickr.en \
  --output "$run_dir/test_2016_flickr.hyp.de" --beam-size 5 --threads 2
build/rosetta bleu --ref data/multi30k/test_2016_flickr.de --hyp "$run_dir/test_2016_flickr.hyp.de" --metrics bleu,chrf
