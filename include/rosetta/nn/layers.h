// The small building blocks: Linear, Embedding, LayerNorm, positional
// encodings. Each owns its parameters and forwards through ops.
#pragma once

#include <cstdint>
#include <vector>

#include "rosetta/nn/module.h"
#include "rosetta/ops/ops.h"

namespace rosetta::nn {

// y = x W^T + b with W [Out, In] (PyTorch's layout).
class Linear : public Module {
 public:
  // weight_init already drawn by the caller (inits differ by use); bias_bound
  // < 0 means no bias, 0 a zero bias, > 0 U(+-bias_bound).
  Linear(Tensor weight, float bias_bound, Rng& rng);
  Var forward(const Var& x) const { return ops::linear(x, weight_, bias_); }
  const Var& weight() const { return weight_; }
  const Var& bias() const { return bias_; }

 private:
  Var weight_, bias_;
};

class Embedding : public Module {
 public:
  Embedding(Tensor table, int32_t padding_id);
  // ids [B, T] (row-major) -> [B, T, D]
  Var forward(const std::vector<int32_t>& ids, const Shape& ids_shape) const {
    return ops::embedding(table_, ids, ids_shape, padding_id_);
  }
  const Var& table() const { return table_; }

 private:
  Var table_;
  int32_t padding_id_;
};

class LayerNorm : public Module {
 public:
  LayerNorm(int64_t width, float eps);
  Var forward(const Var& x) const { return ops::layer_norm(x, gain_, bias_, eps_); }
  // forward(x + dropout(h, p)) in one op (dropout only with an rng): a post-norm block's end.
  Var forward_residual(const Var& x, const Var& h, float p, Rng* rng) const {
    return ops::residual_layer_norm(x, h, p, rng, gain_, bias_, eps_);
  }

 private:
  Var gain_, bias_;
  float eps_;
};

// pe[p, 2i] = sin(p / 10000^(2i/d)), pe[p, 2i+1] = cos(same): [max_positions, d].
Tensor sinusoidal_table(int64_t max_positions, int64_t d);

}  // namespace rosetta::nn
