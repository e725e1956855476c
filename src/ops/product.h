// The matrix product of two prepared operands into a new tensor, shared by
// the ops that run products (matmul, linear, the feed-forward block).
#pragma once

#include "kernels/kernels.h"
#include "rosetta/autograd/var.h"

namespace rosetta::ops::detail {

// a [..., M, K] x b [..., K, N] * alpha -> [..., M, N] (the longer batch extents).
Tensor product(const kernels::MatmulOperand& a, const kernels::MatmulOperand& b, float alpha = 1.0f);

// The 2-D product a [R, K] x b [K, N] passed on as the gradient of a value
// of the given shape ([..., N], R rows in all): added as it is written into
// the gradient so far when the sink allows (no new tensor, no add pass).
void product_into_grad(const kernels::MatmulOperand& a, const kernels::MatmulOperand& b, const GradSink& sink);

}  // namespace rosetta::ops::detail
