// An SVG picture of a run, rewritten at each validation and at the end:
// training and validation loss on one panel, the validation score (BLEU, or
// a language model's perplexity, and final.ckpt's as a ringed marker) on a
// second, the learning rate on a third, against updates, with markers at every
// point and a title naming the run, its updates and its time.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace rosetta {

using Series = std::vector<std::pair<double, double>>;  // (step, value)

struct ProgressData {
  std::string title;
  std::string score_name = "BLEU";  // what valid_score holds
  Series train_loss, valid_loss, valid_score, learning_rate;
  Series final_score;  // final.ckpt's validation score (the mean of the last checkpoints), at the last update
};

std::string progress_svg(const ProgressData& data);

}  // namespace rosetta
