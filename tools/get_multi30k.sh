#!/usr/bin/env bash
# Puts Multi30k task 1 (raw text: train, val, test_2016_flickr in en, de, fr,
# cs) into a folder, by default data/multi30k.
#
#   tools/get_multi30k.sh [--from DIR] [--to DIR]
#
# With --from DIR (or $MULTI30K_DIR) the files are copied from a local folder
# that holds them (plain or .gz); otherwise they are downloaded from the
# dataset's canonical repository. Files already in place are kept.
set -euo pipefail
cd "$(dirname "$0")/.."

from="${MULTI30K_DIR:-}"
to="data/multi30k"
while [ $# -gt 0 ]; do
  case "$1" in
    --from) from="$2"; shift 2 ;;
    --to) to="$2"; shift 2 ;;
    *) echo "get_multi30k: unknown option $1" >&2; exit 2 ;;
  esac
done

base="https://github.com/multi30k/dataset/raw/master/data/task1/raw"
mkdir -p "$to"
[ -n "$from" ] || tools/install_packages.sh curl ca-certificates gzip
for split in train val test_2016_flickr; do
  for lang in en de fr cs; do
    out="$to/$split.$lang"
    [ -s "$out" ] && continue
    if [ -n "$from" ]; then
      if [ -f "$from/$split.$lang" ]; then
        cp "$from/$split.$lang" "$out.part"
      elif [ -f "$from/$split.$lang.gz" ]; then
        gunzip -c "$from/$split.$lang.gz" > "$out.part"
      else
        echo "get_multi30k: $from has neither $split.$lang nor $split.$lang.gz" >&2
        exit 1
      fi
    else
      curl -fsSL --retry 3 "$base/$split.$lang.gz" | gunzip -c > "$out.part"
    fi
    mv "$out.part" "$out"
  done
done
for split in train val test_2016_flickr; do
  n_en=$(wc -l < "$to/$split.en"); n_de=$(wc -l < "$to/$split.de")
  [ "$n_en" = "$n_de" ] || { echo "get_multi30k: $split.en has $n_en lines, $split.de has $n_de" >&2; exit 1; }
done
echo "get_multi30k: $to ready ($(wc -l < "$to/train.en") training pairs)"
