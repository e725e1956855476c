#!/usr/bin/env bash
# The main job on a fresh machine: install, build, fetch Multi30k, train
# configs/quickstart.yaml (10 minutes), translate test_2016_flickr with beam 5
# and print its sacreBLEU-compatible score.
#
#   tools/quickstart.sh                                   downloads Multi30k
#   MULTI30K_DIR=/path/to/multi30k tools/quickstart.sh    uses a local copy
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh
tools/get_multi30k.sh
run_dir=runs/quickstart
build/rosetta train --config configs/quickstart.yaml --data-root data
checkpoint=$(ls "$run_dir"/checkpoints/step-*.ckpt | sort | tail -n 1)
build/rosetta translate --model "$checkpoint" --input data/multi30k/test_2016_flickr.en \
  --output "$run_dir/test_2016_flickr.hyp.de" --beam-size 5 --threads 2
build/rosetta bleu --ref data/multi30k/test_2016_flickr.de --hyp "$run_dir/test_2016_flickr.hyp.de" --metrics bleu,chrf
