// Silences one attention head for as long as the object lives: the columns
// of the layer's output projection that read the head's context are zeroed
// (what masking the head does, Michel et al. 2019), and put back after. The
// model's computation is untouched, so no path pays for the possibility.
#pragma once

#include <string>
#include <vector>

#include "rosetta/model/transformer.h"

namespace rosetta {

class HeadAblation {
 public:
  // kind: "encoder_self", "decoder_self" or "cross". Throws naming a kind,
  // layer or head the model lacks.
  HeadAblation(const Transformer& model, const std::string& kind, int64_t layer, int64_t head);
  ~HeadAblation();
  HeadAblation(const HeadAblation&) = delete;
  HeadAblation& operator=(const HeadAblation&) = delete;

 private:
  Var weight_;  // [D, D]: output features by the heads' context features
  int64_t first_column_ = 0, columns_ = 0;
  std::vector<float> saved_;
};

}  // namespace rosetta
