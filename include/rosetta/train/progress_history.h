// A resumed run's plot starts with the points of its earlier updates, read
// back from the run's metrics.jsonl (JSON lines: "train", "valid", "final").
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "rosetta/train/progress_plot.h"

namespace rosetta {

// What the plot's score panel shows: BLEU, or a language model's perplexity.
inline double plotted_score(bool language_model, double nll, double bleu) {
  return language_model ? std::exp(nll) : bleu;
}

struct ProgressHistory {
  ProgressData plot;                  // the points up to the resumed step
  double final_score = std::nan("");  // an earlier final.ckpt's validation score (BLEU, or -nll), NaN: none
};

// Lines past up_to_step (redone after the checkpoint) and lines cut by a crash are skipped.
ProgressHistory read_progress_history(const std::string& metrics_path, int64_t up_to_step, bool language_model);

}  // namespace rosetta
