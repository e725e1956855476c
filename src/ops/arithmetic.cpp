// add, sub, mul with NumPy broadcasting, scale, and add_constant: forward through
// oneDNN binary/eltwise, backward summing over broadcast axes.
#include "broadcast.h"
#include "rosetta/error.h"
#include "rosetta/ops/ops.h"

namespace rosetta::ops {

using kernels::BinaryOp;
using detail::reduce_to_shape;
using detail::with_rank;

namespace {

// out = a (op) b, both broadcast to out_shape. oneDNN broadcasts only its
// second operand, so the first must already have the full shape.
Tensor broadcast_binary(BinaryOp op, const Tensor& a, const Tensor& b, const Shape& out_shape) {
  const int rank = static_cast<int>(out_shape.size());
  Tensor out = Tensor::empty(out_shape);
  const Tensor a_r = with_rank(a, rank), b_r = with_rank(b, rank);
  if (a_r.shape() == out_shape) {
    kernels::binary(op, a_r, b_r, out);
  } else if (b_r.shape() == out_shape && op != BinaryOp::sub) {
    kernels::binary(op, b_r, a_r, out);  // add and mul commute
  } else {
    Tensor a_full = Tensor::zeros(out_shape);
    kernels::binary(BinaryOp::add, a_full, a_r, a_full);
    kernels::binary(op, a_full, b_r, out);
  }
  return out;
}

Tensor negate(const Tensor& t) {
  Tensor out = Tensor::empty(t.shape());
  kernels::affine(kernels::contiguous(t), -1.0f, 0.0f, out);
  return out;
}

}  // namespace

Var add(const Var& a, const Var& b) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape());
  Tensor out = broadcast_binary(BinaryOp::add, a.value(), b.value(), shape);
  return Var::from_op(out, {a, b}, [a = a.sink(), b = b.sink()](const Tensor& g) {
    if (a.requires_grad()) a.accumulate_grad(reduce_to_shape(g, a.shape()));
    if (b.requires_grad()) b.accumulate_grad(reduce_to_shape(g, b.shape()));
  });
}

Var sub(const Var& a, const Var& b) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape());
  Tensor out = broadcast_binary(BinaryOp::sub, a.value(), b.value(), shape);
  return Var::from_op(out, {a, b}, [a = a.sink(), b = b.sink()](const Tensor& g) {
    if (a.requires_grad()) a.accumulate_grad(reduce_to_shape(g, a.shape()));
    if (b.requires_grad()) b.accumulate_grad(negate(reduce_to_shape(g, b.shape())));
  });
}

Var mul(const Var& a, const Var& b) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape());
  Tensor out = broadcast_binary(BinaryOp::mul, a.value(), b.value(), shape);
  return Var::from_op(out, {a, b}, [a_value = a.value(), b_value = b.value(), a = a.sink(), b = b.sink()](const Tensor& g) {
    if (a.requires_grad())
      a.accumulate_grad(reduce_to_shape(broadcast_binary(BinaryOp::mul, g, b_value, g.shape()),
                                        a.shape()));
    if (b.requires_grad())
      b.accumulate_grad(reduce_to_shape(broadcast_binary(BinaryOp::mul, g, a_value, g.shape()),
                                        b.shape()));
  });
}

Var scale(const Var& x, float factor) {
  Tensor out = Tensor::empty(x.shape());
  kernels::affine(kernels::contiguous(x.value()), factor, 0.0f, out);
  return Var::from_op(out, {x}, [x = x.sink(), factor](const Tensor& g) {
    Tensor dx = Tensor::empty(g.shape());
    kernels::affine(g, factor, 0.0f, dx);
    x.accumulate_grad(dx);
  });
}

Var add_constant(const Var& x, const Tensor& c) {
  check(broadcast_shapes(x.shape(), c.shape()) == x.shape(), "constant ", shape_text(c.shape()),
        " does not broadcast to ", shape_text(x.shape()));
  Tensor out = broadcast_binary(BinaryOp::add, x.value(), c, x.shape());
  return Var::from_op(out, {x}, [x = x.sink()](const Tensor& g) { x.accumulate_grad(g); });
}

}  // namespace rosetta::ops
