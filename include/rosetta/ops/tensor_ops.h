// Non-differentiable tensor utilities for inference code (decoder caches,
// beam reordering): they change or build tensors outside the tape.
#pragma once

#include <cstdint>
#include <vector>

#include "rosetta/tensor/tensor.h"

namespace rosetta::ops {

// dst = src elementwise; same shape, any strides on both (dst may be a view).
void copy_into(const Tensor& src, Tensor dst);
// out[i] = t[rows[i]] along axis 0: [N, ...] -> [rows.size(), ...].
Tensor gather_rows(const Tensor& t, const std::vector<int32_t>& rows);
// Attention of one query per row over cache rows picked by an index, heads
// split as in MultiHeadAttention: q [B, D], keys and values [R, D]; row b
// attends over keys[index[b * stride + p]] for p < length. Returns [B, D].
Tensor indexed_attention(const Tensor& q, const Tensor& keys, const Tensor& values, const std::vector<int32_t>& index,
                         int64_t stride, int64_t length, int64_t heads, float scale);
// Each row's one query over the keys and values of its sentence (the
// decoder's cross-attention step), heads split as in MultiHeadAttention:
// q [N * group, D], keys and values [N, H, S, Dh], mask N * S additive
// values or undefined; row b reads sentence b / group. Returns [N * group, D];
// weights, when given, receives the attention weights [N, H, group, S].
Tensor memory_attention(const Tensor& q, const Tensor& keys, const Tensor& values, const Tensor& mask, int64_t group,
                        float scale, Tensor* weights = nullptr);
// x [R, In] through several linear layers at once: weights [Out_i, In] and
// biases [Out_i] side by side give [R, sum Out_i] (the decoder's Q, K and V
// in one product). Inside a FrozenWeightsScope the stacked weights are made
// once.
Tensor stacked_linear(const Tensor& x, const std::vector<Tensor>& weights, const std::vector<Tensor>& biases);
// A contiguous copy (or t itself when already contiguous).
Tensor contiguous(const Tensor& t);

}  // namespace rosetta::ops
