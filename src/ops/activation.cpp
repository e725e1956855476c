// ReLU and GELU on oneDNN eltwise; the backward reads the forward's input
// (GELU) or output (ReLU).
#include "kernels/kernels.h"
#include "rosetta/ops/ops.h"

namespace rosetta::ops {

namespace {

Var activation(kernels::Activation kind, const Var& x) {
  const Tensor input = kernels::contiguous(x.value());
  Tensor y = Tensor::empty(input.shape());
  kernels::activation_forward(kind, input, y);
  // ReLU's derivative reads as well from its output (y > 0 exactly where
  // x > 0), so it keeps y, which the next op usually keeps anyway.
  const Tensor saved = kind == kernels::Activation::relu ? y : input;
  return Var::from_op(y, {x}, [kind, x = x.sink(), saved](const Tensor& g) {
    Tensor dx = Tensor::empty(g.shape());
    kernels::activation_backward(kind, saved, g, dx);
    x.accumulate_grad(dx);
  });
}

}  // namespace

Var relu(const Var& x) { return activation(kernels::Activation::relu, x); }
Var gelu(const Var& x) { return activation(kernels::Activation::gelu, x); }

}  // namespace rosetta::ops
