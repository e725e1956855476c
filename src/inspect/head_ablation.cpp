#include "rosetta/inspect/head_ablation.h"

#include <algorithm>

#include "rosetta/error.h"

namespace rosetta {

HeadAblation::HeadAblation(const Transformer& model, const std::string& kind, int64_t layer, int64_t head) {
  const ModelConfig& config = model.config();
  check(kind == "encoder_self" || kind == "decoder_self" || kind == "cross", "head ablation: unknown kind '", kind,
        "' (encoder_self, decoder_self or cross)");
  const int64_t layers = kind == "encoder_self" ? config.encoder_layers : config.decoder_layers;
  check(layer >= 0 && layer < layers, "head ablation: layer ", layer, " of ", kind, ": the model has ", layers);
  check(head >= 0 && head < config.heads, "head ablation: head ", head, ": the model has ", config.heads);
  const std::string name = (kind == "encoder_self" ? "encoder.layers." : "decoder.layers.") + std::to_string(layer) +
                           (kind == "cross" ? ".cross_attn" : ".self_attn") + ".out_proj.weight";
  for (const auto& [n, p] : model.named_parameters())
    if (n == name) weight_ = p;
  check(weight_.defined(), "head ablation: the model has no parameter ", name);
  const int64_t rows = weight_.value().dim(0), d = weight_.value().dim(1);
  columns_ = d / config.heads;
  first_column_ = head * columns_;
  float* w = weight_.mutable_value().data();
  saved_.resize(static_cast<size_t>(rows * columns_));
  for (int64_t r = 0; r < rows; ++r) {
    std::copy_n(w + r * d + first_column_, columns_, saved_.begin() + r * columns_);
    std::fill_n(w + r * d + first_column_, columns_, 0.0f);
  }
}

HeadAblation::~HeadAblation() {
  const int64_t rows = weight_.value().dim(0), d = weight_.value().dim(1);
  float* w = weight_.mutable_value().data();
  for (int64_t r = 0; r < rows; ++r) std::copy_n(saved_.begin() + r * columns_, columns_, w + r * d + first_column_);
}

}  // namespace rosetta
