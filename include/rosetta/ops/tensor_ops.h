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
// A contiguous copy (or t itself when already contiguous).
Tensor contiguous(const Tensor& t);

}  // namespace rosetta::ops
