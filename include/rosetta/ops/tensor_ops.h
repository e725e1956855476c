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
// out[i] = t[rows[i]] for t [N, A, C, ...] (contiguous), but only positions
// [0, prefix) of axis 2; later positions of out are left as they are. Beam
// search reorders decoder caches whose tail is not filled yet. out:
// contiguous, [rows.size(), A, C, ...].
void gather_rows_prefix(const Tensor& t, const std::vector<int32_t>& rows, int64_t prefix, Tensor& out);
// A contiguous copy (or t itself when already contiguous).
Tensor contiguous(const Tensor& t);

}  // namespace rosetta::ops
