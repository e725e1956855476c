#include "rosetta/nn/layers.h"

#include <cmath>

#include "rosetta/error.h"
#include "rosetta/nn/init.h"

namespace rosetta::nn {

Linear::Linear(Tensor weight, float bias_bound, Rng& rng) {
  const int64_t out = weight.dim(0);
  weight_ = register_parameter("weight", std::move(weight));
  if (bias_bound == 0.0f) bias_ = register_parameter("bias", Tensor::zeros({out}));
  if (bias_bound > 0.0f) bias_ = register_parameter("bias", init::uniform({out}, bias_bound, rng));
}

Embedding::Embedding(Tensor table, int32_t padding_id) : padding_id_(padding_id) {
  table_ = register_parameter("weight", std::move(table));
}

LayerNorm::LayerNorm(int64_t width, float eps) : eps_(eps) {
  gain_ = register_parameter("weight", Tensor::full({width}, 1.0f));
  bias_ = register_parameter("bias", Tensor::zeros({width}));
}

Tensor sinusoidal_table(int64_t max_positions, int64_t d) {
  check(d % 2 == 0, "sinusoidal positions need an even width, got ", d);
  Tensor pe = Tensor::empty({max_positions, d});
  float* out = pe.data();
  for (int64_t p = 0; p < max_positions; ++p) {
    for (int64_t i = 0; i < d; i += 2) {
      // As PyTorch computes it: exp(2i * -ln(10000) / d), in float.
      const float div = std::exp(static_cast<float>(i) * (-std::log(10000.0f) / static_cast<float>(d)));
      out[p * d + i] = std::sin(static_cast<float>(p) * div);
      out[p * d + i + 1] = std::cos(static_cast<float>(p) * div);
    }
  }
  return pe;
}

}  // namespace rosetta::nn
