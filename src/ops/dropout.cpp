// Dropout: the forward keeps its scaled keep-mask, the backward multiplies by it.
#include "kernels/kernels.h"
#include "rosetta/ops/ops.h"

namespace rosetta::ops {

Var dropout(const Var& x, float p, Rng& rng) {
  if (p == 0.0f) return x;
  const Tensor input = kernels::contiguous(x.value());
  Tensor y = Tensor::empty(input.shape()), mask = Tensor::empty(input.shape());
  kernels::dropout_forward(input, p, rng.next_u64(), y, mask);
  return Var::from_op(y, {x}, [x, mask](const Tensor& g) {
    Tensor dx = Tensor::empty(g.shape());
    kernels::binary(kernels::BinaryOp::mul, g, mask, dx);
    x.accumulate_grad(dx);
  });
}

}  // namespace rosetta::ops
