#include "rosetta/nn/attention.h"

#include <cmath>

#include "rosetta/error.h"
#include "rosetta/nn/init.h"
#include "rosetta/ops/tensor_ops.h"

namespace rosetta::nn {

namespace {

// PyTorch keeps Q, K and V in one [3D, D] in_proj matrix and draws it
// Xavier-uniform as a whole; drawing each [D, D] slice with the fans of the
// whole keeps the reference's initial distribution.
Tensor in_proj_slice(int64_t d, Rng& rng) { return init::xavier_uniform({d, d}, d, 3 * d, rng); }

}  // namespace

MultiHeadAttention::MultiHeadAttention(int64_t d_model, int64_t heads, float attention_dropout,
                                       Rng& init_rng)
    : d_model_(d_model),
      heads_(heads),
      attention_dropout_(attention_dropout),
      q_proj_(in_proj_slice(d_model, init_rng), 0.0f, init_rng),
      k_proj_(in_proj_slice(d_model, init_rng), 0.0f, init_rng),
      v_proj_(in_proj_slice(d_model, init_rng), 0.0f, init_rng),
      out_proj_(init::xavier_uniform({d_model, d_model}, d_model, d_model, init_rng), 0.0f, init_rng) {
  check(heads > 0 && d_model % heads == 0, "d_model ", d_model, " is not divisible by heads ", heads);
  register_module("q_proj", q_proj_);
  register_module("k_proj", k_proj_);
  register_module("v_proj", v_proj_);
  register_module("out_proj", out_proj_);
}

Var MultiHeadAttention::split_heads(const Var& x) const {
  const int64_t b = x.value().dim(0), t = x.value().dim(1);
  return ops::permute(ops::reshape(x, {b, t, heads_, d_model_ / heads_}), {0, 2, 1, 3});
}

Var MultiHeadAttention::project_key(const Var& x) const { return split_heads(k_proj_.forward(x)); }
Var MultiHeadAttention::project_value(const Var& x) const { return split_heads(v_proj_.forward(x)); }

Var MultiHeadAttention::attend(const Var& q, const Var& k, const Var& v, const Tensor& mask,
                               Rng* dropout_rng, Var* weights) const {
  const float scale = 1.0f / std::sqrt(static_cast<float>(d_model_ / heads_));
  Var scores = ops::attention_scores(q, k, heads_, scale);        // [B, H, T, S]
  if (mask.defined()) scores = ops::add_constant(scores, mask);  // -inf hides keys
  Var p = ops::softmax(scores);                                  // [B, H, T, S]
  if (weights) *weights = p;
  if (dropout_rng) p = ops::dropout(p, attention_dropout_, *dropout_rng);
  return out_proj_.forward(ops::attention_context(p, v, heads_));  // [B, T, D]
}

Var MultiHeadAttention::step(const Var& x, Tensor& keys, Tensor& values, int64_t first_new_row,
                             const std::vector<int32_t>& history, int64_t stride, int64_t length) const {
  const int64_t b = x.value().dim(0), d = d_model_;
  const Tensor projected = ops::stacked_linear(  // [B, Q | K | V]
      x.value().view({b, d}), {q_proj_.weight().value(), k_proj_.weight().value(), v_proj_.weight().value()},
      {q_proj_.bias().value(), k_proj_.bias().value(), v_proj_.bias().value()});
  ops::copy_into(projected.narrow(1, d, d), keys.narrow(0, first_new_row, b));
  ops::copy_into(projected.narrow(1, 2 * d, d), values.narrow(0, first_new_row, b));
  const float scale = 1.0f / std::sqrt(static_cast<float>(d / heads_));
  const Tensor context =
      ops::indexed_attention(projected.narrow(1, 0, d), keys, values, history, stride, length, heads_, scale);
  return out_proj_.forward(Var(context.view({b, 1, d})));
}

Var MultiHeadAttention::step_over_memory(const Var& x, const Tensor& keys, const Tensor& values, const Tensor& mask,
                                         int64_t group, Var* weights) const {
  const int64_t b = x.value().dim(0), d = d_model_;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d / heads_));
  Tensor kept;
  const Tensor context = ops::memory_attention(q_proj_.forward(x).value().view({b, d}), keys, values, mask, group,
                                               scale, weights ? &kept : nullptr);
  if (weights) *weights = Var(kept);
  return out_proj_.forward(Var(context.view({b, 1, d})));
}

Var MultiHeadAttention::forward(const Var& query, const Var& memory, const Tensor& mask,
                                Rng* dropout_rng, Var* weights) const {
  return attend(q_proj_.forward(query), k_proj_.forward(memory), v_proj_.forward(memory), mask, dropout_rng, weights);
}

FeedForward::FeedForward(int64_t d_model, int64_t ffn, Activation activation,
                         float activation_dropout, Rng& init_rng)
    : activation_(activation),
      activation_dropout_(activation_dropout),
      // Biases as PyTorch's Linear default: U(+-1/sqrt(fan_in)).
      linear1_(init::xavier_uniform({ffn, d_model}, d_model, ffn, init_rng),
               1.0f / std::sqrt(static_cast<float>(d_model)), init_rng),
      linear2_(init::xavier_uniform({d_model, ffn}, ffn, d_model, init_rng),
               1.0f / std::sqrt(static_cast<float>(ffn)), init_rng) {
  register_module("linear1", linear1_);
  register_module("linear2", linear2_);
}

Var FeedForward::forward(const Var& x, Rng* dropout_rng) const {
  // ReLU's block is one op (the ReLU a post-op of the product, dropout fused
  // into the passes around it); GELU's backward needs its input, so it goes op by op.
  if (activation_ == Activation::relu)
    return ops::feed_forward_relu(x, linear1_.weight(), linear1_.bias(), linear2_.weight(), linear2_.bias(),
                                  activation_dropout_, dropout_rng);
  Var h = ops::gelu(linear1_.forward(x));  // [..., F]
  if (dropout_rng) h = ops::dropout(h, activation_dropout_, *dropout_rng);
  return linear2_.forward(h);  // [..., D]
}

}  // namespace rosetta::nn
