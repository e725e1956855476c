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

// Rows [start, start + count) of x's values seen as [R, D] (D its last
// extent; count -1: to the end), as a product's operand: in bf16 the copy x
// carries (Var::bf16_copy) when it has one, so nothing is rounded again;
// else the values, rounded by the operand in bf16.
kernels::MatmulOperand rows_operand(const Var& x, int64_t start = 0, int64_t count = -1);

// The bf16 copy an op attaches to a value it made for the products that
// will read it, when they run in bf16: undefined in fp32.
Tensor bf16_copy_for(const Tensor& value);

}  // namespace rosetta::ops::detail
