#include "rosetta/nn/init.h"

#include <cmath>

namespace rosetta::nn::init {

namespace {
thread_local int skip_drawing = 0;
}

SkipDrawingScope::SkipDrawingScope() { ++skip_drawing; }
SkipDrawingScope::~SkipDrawingScope() { --skip_drawing; }

Tensor uniform(const Shape& shape, float bound, Rng& rng) {
  if (skip_drawing > 0) return Tensor::zeros(shape);
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = rng.uniform(-bound, bound);
  return t;
}

Tensor normal(const Shape& shape, float stddev, Rng& rng) {
  if (skip_drawing > 0) return Tensor::zeros(shape);
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = rng.normal(0.0f, stddev);
  return t;
}

Tensor xavier_uniform(const Shape& shape, int64_t fan_in, int64_t fan_out, Rng& rng) {
  return uniform(shape, std::sqrt(6.0f / static_cast<float>(fan_in + fan_out)), rng);
}

}  // namespace rosetta::nn::init
