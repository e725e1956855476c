// matmul and linear on oneDNN matmul. Transposes are strided views, so
// neither the forward nor the backward copies an operand to transpose it.
#include "kernels/kernels.h"
#include "rosetta/error.h"
#include "rosetta/ops/ops.h"

namespace rosetta::ops {

namespace {

Tensor t_last(const Tensor& t) { return t.transpose(-1, -2); }

Tensor product(const Tensor& a, const Tensor& b, float alpha) {
  Shape shape = a.shape();
  shape.back() = b.dim(-1);
  Tensor out = Tensor::empty(shape);
  kernels::matmul(a, b, out, {.alpha = alpha});
  return out;
}

}  // namespace

Var matmul(const Var& a, const Var& b, bool transpose_a, bool transpose_b, float alpha) {
  const Tensor a_op = transpose_a ? t_last(a.value()) : a.value();  // [..., M, K]
  const Tensor b_op = transpose_b ? t_last(b.value()) : b.value();  // [..., K, N]
  check(a_op.ndim() >= 2 && a_op.ndim() == b_op.ndim(), "matmul needs operands of one rank >= 2, got ",
        shape_text(a.shape()), " and ", shape_text(b.shape()));
  check(Shape(a_op.shape().begin(), a_op.shape().end() - 2) ==
            Shape(b_op.shape().begin(), b_op.shape().end() - 2),
        "matmul batch extents differ: ", shape_text(a.shape()), " and ", shape_text(b.shape()));
  check(a_op.dim(-1) == b_op.dim(-2), "matmul inner extents differ: ", shape_text(a.shape()),
        (transpose_a ? "^T" : ""), " @ ", shape_text(b.shape()), (transpose_b ? "^T" : ""));
  Tensor out = product(a_op, b_op, alpha);
  return Var::from_op(out, {a, b}, [a_op, b_op, a = a.sink(), b = b.sink(), transpose_a, transpose_b,
                                    alpha](const Tensor& g) {
    // d(a_op) = g @ b_op^T, d(b_op) = a_op^T @ g; a transposed operand takes
    // the transposed product, computed directly in its own layout.
    if (a.requires_grad())
      a.accumulate_grad(transpose_a ? product(b_op, t_last(g), alpha)
                                    : product(g, t_last(b_op), alpha));
    if (b.requires_grad())
      b.accumulate_grad(transpose_b ? product(t_last(g), a_op, alpha)
                                    : product(t_last(a_op), g, alpha));
  });
}

Var linear(const Var& x, const Var& weight, const Var& bias) {
  check(weight.value().ndim() == 2, "linear weight must be [Out, In], got ",
        shape_text(weight.shape()));
  const int64_t in = weight.value().dim(1), out_width = weight.value().dim(0);
  check(x.value().ndim() >= 1 && x.value().dim(-1) == in, "linear: input ",
        shape_text(x.shape()), " does not fit weight ", shape_text(weight.shape()));
  static const Shape kNoBias;
  check(!bias.defined() || (bias.shape().size() == 1 && bias.shape()[0] == out_width), "linear: bias ",
        shape_text(bias.defined() ? bias.shape() : kNoBias), " does not fit weight ",
        shape_text(weight.shape()));
  const Tensor x2 = kernels::contiguous(x.value()).view({-1, in});  // [R, In]
  Tensor y = Tensor::empty({x2.dim(0), out_width});                  // [R, Out]
  kernels::matmul(x2, t_last(weight.value()), y,
                  {.bias = bias.defined() ? &bias.value() : nullptr, .b_is_weight = true});
  Shape out_shape = x.shape();
  out_shape.back() = out_width;
  return Var::from_op(y.view(out_shape), {x, weight, bias}, [x = x.sink(), x2, w = weight.value(),
                                                             weight = weight.sink(), bias = bias.sink()](const Tensor& g) {
    const Tensor g2 = g.view({-1, g.dim(-1)});  // [R, Out]
    if (x.requires_grad()) x.accumulate_grad(product(g2, w, 1.0f).view(x.shape()));
    if (weight.requires_grad()) weight.accumulate_grad(product(t_last(g2), x2, 1.0f));
    if (bias.requires_grad()) {
      Tensor db = Tensor::empty({1, g2.dim(1)});
      kernels::reduce_sum(g2, db);
      bias.accumulate_grad(db.view({g2.dim(1)}));
    }
  });
}

}  // namespace rosetta::ops
