// Multi-head scaled dot-product attention with learned Q, K, V and output
// projections. One class serves encoder self-attention, decoder
// self-attention (with a causal mask) and cross-attention; project_key and
// project_value let the incremental decoder cache the memory's keys and values.
#pragma once

#include "rosetta/nn/layers.h"

namespace rosetta::nn {

class MultiHeadAttention : public Module {
 public:
  MultiHeadAttention(int64_t d_model, int64_t heads, float attention_dropout, Rng& init_rng);

  // query [B, T, D] attends over memory [B, S, D]; mask (additive, may be
  // undefined) broadcasts to [B, H, T, S]. dropout_rng null: no dropout.
  // weights, when given, receives the attention weights [B, H, T, S].
  Var forward(const Var& query, const Var& memory, const Tensor& mask, Rng* dropout_rng,
              Var* weights = nullptr) const;

  Var project_key(const Var& x) const;    // [B, S, D] -> [B, H, S, Dh]
  Var project_value(const Var& x) const;  // [B, S, D] -> [B, H, S, Dh]
  // softmax(q k^T / sqrt(Dh) + mask) v per head, heads merged, output-projected:
  // projections q [B, T, D], k and v [B, S, D] -> [B, T, D].
  Var attend(const Var& q, const Var& k, const Var& v, const Tensor& mask, Rng* dropout_rng,
             Var* weights = nullptr) const;

  // Incremental self-attention (decoding, no gradients): x [B, 1, D] is one
  // new position per row, projected to Q, K and V by one product. Its keys
  // and values go to rows first_new_row .. first_new_row + B - 1 of the
  // caches keys and values [R, D]; row b then attends over the cache rows
  // history[b * stride + p], p < length (which must include its new row).
  // Returns [B, 1, D].
  Var step(const Var& x, Tensor& keys, Tensor& values, int64_t first_new_row, const std::vector<int32_t>& history,
           int64_t stride, int64_t length) const;

  // Incremental cross-attention (decoding, no gradients): x [B, 1, D], rows
  // in runs of `group` per sentence of keys and values [N, H, S, Dh]
  // (project_key/project_value of the memory) and mask [N, 1, 1, S].
  // Returns [B, 1, D], as attend() on the same rows; weights, when given,
  // receives the attention weights [N, H, group, S].
  Var step_over_memory(const Var& x, const Tensor& keys, const Tensor& values, const Tensor& mask, int64_t group,
                       Var* weights = nullptr) const;

 private:
  Var split_heads(const Var& x) const;

  int64_t d_model_, heads_;
  float attention_dropout_;
  Linear q_proj_, k_proj_, v_proj_, out_proj_;
};

// linear2(dropout(activation(linear1(x)))): [..., D] -> [..., D]
class FeedForward : public Module {
 public:
  enum class Activation { relu, gelu };
  FeedForward(int64_t d_model, int64_t ffn, Activation activation, float activation_dropout,
              Rng& init_rng);
  Var forward(const Var& x, Rng* dropout_rng) const;

 private:
  Activation activation_;
  float activation_dropout_;
  Linear linear1_, linear2_;
};

}  // namespace rosetta::nn
