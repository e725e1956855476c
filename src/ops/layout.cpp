// reshape, permute, transpose, narrow, contiguous: views forward where the
// layout allows, the inverse view (or a zero-padded slot) backward.
#include "kernels/kernels.h"
#include "rosetta/error.h"
#include "rosetta/ops/ops.h"

namespace rosetta::ops {

Var reshape(const Var& x, const Shape& shape) {
  const Tensor out = kernels::contiguous(x.value()).view(shape);
  Var y = Var::from_op(out, {x}, [x = x.sink()](const Tensor& g) {
    x.accumulate_grad(kernels::contiguous(g).view(x.shape()));
  });
  // The same values in the same order: x's bf16 copy is the reshaped value's too.
  if (x.bf16_copy().defined()) y.attach_bf16_copy(x.bf16_copy());
  return y;
}

Var permute(const Var& x, const std::vector<int>& order) {
  const Tensor out = x.value().permute(order);
  std::vector<int> inverse(order.size());
  for (size_t i = 0; i < order.size(); ++i) inverse[normalize_axis(order[i], x.shape())] = static_cast<int>(i);
  return Var::from_op(out, {x}, [x = x.sink(), inverse](const Tensor& g) {
    x.accumulate_grad(g.permute(inverse));
  });
}

Var transpose(const Var& x, int axis0, int axis1) {
  std::vector<int> order(x.shape().size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::swap(order[normalize_axis(axis0, x.shape())], order[normalize_axis(axis1, x.shape())]);
  return permute(x, order);
}

Var narrow(const Var& x, int axis, int64_t start, int64_t length) {
  const Tensor out = x.value().narrow(axis, start, length);
  return Var::from_op(out, {x}, [x = x.sink(), axis, start, length](const Tensor& g) {
    Tensor dx = Tensor::zeros(x.shape());
    Tensor slot = dx.narrow(axis, start, length);
    kernels::copy(g, slot);
    x.accumulate_grad(dx);
  });
}

Var contiguous(const Var& x) {
  if (x.value().is_contiguous()) return x;
  return Var::from_op(kernels::contiguous(x.value()), {x},
                      [x = x.sink()](const Tensor& g) { x.accumulate_grad(g); });
}

}  // namespace rosetta::ops
