// Softmax and log-softmax over the last axis on oneDNN softmax_v2; the
// backward reads the forward's output.
#include "kernels/kernels.h"
#include "rosetta/ops/ops.h"

namespace rosetta::ops {

namespace {

Var softmax_impl(const Var& x, bool log) {
  Tensor y = Tensor::empty(x.shape());
  kernels::softmax_forward(kernels::contiguous(x.value()), y, log);
  return Var::from_op(y, {x}, [x = x.sink(), y, log](const Tensor& g) {
    Tensor dx = Tensor::empty(g.shape());
    kernels::softmax_backward(y, g, dx, log);
    x.accumulate_grad(dx);
  });
}

}  // namespace

Var softmax(const Var& x) { return softmax_impl(x, false); }
Var log_softmax(const Var& x) { return softmax_impl(x, true); }

}  // namespace rosetta::ops
