// sum and mean on oneDNN reduction; the backward broadcasts the gradient back.
#include "broadcast.h"
#include "rosetta/error.h"
#include "rosetta/ops/ops.h"

namespace rosetta::ops {

namespace {

// g broadcast up to shape (g has shape's rank, extent 1 where reduced).
Tensor expand(const Tensor& g, const Shape& shape) {
  Tensor out = Tensor::zeros(shape);
  kernels::binary(kernels::BinaryOp::add, out, kernels::contiguous(g), out);
  return out;
}

Var reduce_to(const Var& x, const Shape& kept, const Shape& out_shape, float factor) {
  Tensor reduced = Tensor::empty(kept);
  kernels::reduce_sum(kernels::contiguous(x.value()), reduced);
  if (factor != 1.0f) kernels::affine(reduced, factor, 0.0f, reduced);
  return Var::from_op(reduced.view(out_shape), {x}, [x = x.sink(), kept, factor](const Tensor& g) {
    Tensor dx = expand(g.view(kept), x.shape());
    if (factor != 1.0f) kernels::affine(dx, factor, 0.0f, dx);
    x.accumulate_grad(dx);
  });
}

}  // namespace

Var sum(const Var& x) { return reduce_to(x, Shape(x.shape().size(), 1), {}, 1.0f); }

Var mean(const Var& x) {
  check(x.value().numel() > 0, "mean of an empty tensor");
  return reduce_to(x, Shape(x.shape().size(), 1), {}, 1.0f / static_cast<float>(x.value().numel()));
}

Var sum(const Var& x, int axis, bool keepdim) {
  const int a = normalize_axis(axis, x.shape());
  Shape kept = x.shape();
  kept[a] = 1;
  Shape out_shape = kept;
  if (!keepdim) out_shape.erase(out_shape.begin() + a);
  return reduce_to(x, kept, out_shape, 1.0f);
}

}  // namespace rosetta::ops
