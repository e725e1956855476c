// Dropout: the backward applies the same mask, recomputed from the key.
#include "kernels/kernels.h"
#include "rosetta/ops/ops.h"

namespace rosetta::ops {

Var dropout(const Var& x, float p, Rng& rng) {
  if (p == 0.0f) return x;
  const Tensor input = kernels::contiguous(x.value());
  Tensor y = Tensor::empty(input.shape());
  const uint64_t key = rng.next_u64();
  kernels::dropout_forward(input, p, key, y);
  return Var::from_op(y, {x}, [x = x.sink(), p, key](const Tensor& g) {
    Tensor dx = Tensor::empty(g.shape());
    kernels::dropout_backward(g, p, key, dx);
    x.accumulate_grad(dx);
  });
}

}  // namespace rosetta::ops
