// Parameter initialisers, as PyTorch's nn.init defines them, drawn from the
// one seeded Rng so the same seed gives the same model.
#pragma once

#include "rosetta/tensor/random.h"
#include "rosetta/tensor/tensor.h"

namespace rosetta::nn::init {

Tensor uniform(const Shape& shape, float bound, Rng& rng);  // U(-bound, bound)
Tensor normal(const Shape& shape, float stddev, Rng& rng);  // N(0, stddev^2)
// U(+-sqrt(6 / (fan_in + fan_out))); fans given explicitly because a slice of
// a larger matrix (PyTorch's fused in_proj) keeps the fans of the whole.
Tensor xavier_uniform(const Shape& shape, int64_t fan_in, int64_t fan_out, Rng& rng);

// While one is alive on this thread, the initialisers return zeros without
// drawing: for a model whose every parameter is read from a checkpoint next
// (drawing ~5M values took ~0.1 s of translate's start).
class SkipDrawingScope {
 public:
  SkipDrawingScope();
  ~SkipDrawingScope();
  SkipDrawingScope(const SkipDrawingScope&) = delete;
  SkipDrawingScope& operator=(const SkipDrawingScope&) = delete;
};

}  // namespace rosetta::nn::init
