// ReLU and GELU on oneDNN eltwise; the backward reads the forward's input.
#include "kernels/kernels.h"
#include "rosetta/ops/ops.h"

namespace rosetta::ops {

namespace {

Var activation(kernels::Activation kind, const Var& x) {
  const Tensor input = kernels::contiguous(x.value());
  Tensor y = Tensor::empty(input.shape());
  kernels::activation_forward(kind, input, y);
  return Var::from_op(y, {x}, [kind, x, input](const Tensor& g) {
    Tensor dx = Tensor::empty(g.shape());
    kernels::activation_backward(kind, input, g, dx);
    x.accumulate_grad(dx);
  });
}

}  // namespace

Var relu(const Var& x) { return activation(kernels::Activation::relu, x); }
Var gelu(const Var& x) { return activation(kernels::Activation::gelu, x); }

}  // namespace rosetta::ops
