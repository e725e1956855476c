// The matrix product of two prepared operands into a new tensor, shared by
// the ops that run products (matmul, linear, the feed-forward block).
#pragma once

#include "kernels/kernels.h"

namespace rosetta::ops::detail {

// a [..., M, K] x b [..., K, N] * alpha -> [..., M, N] (the longer batch extents).
Tensor product(const kernels::MatmulOperand& a, const kernels::MatmulOperand& b, float alpha = 1.0f);

}  // namespace rosetta::ops::detail
