// matmul and linear on oneDNN matmul. Transposes are strided views, so
// neither the forward nor the backward copies an operand to transpose it.
#include "kernels/kernels.h"
#include "ops/product.h"
#include "rosetta/error.h"
#include "rosetta/ops/ops.h"

namespace rosetta::ops {

namespace detail {

Tensor product(const kernels::MatmulOperand& a, const kernels::MatmulOperand& b, float alpha) {
  Shape shape = a.ndim() >= b.ndim() ? a.shape() : b.shape();
  shape[shape.size() - 2] = a.dim(-2);
  shape.back() = b.dim(-1);
  Tensor out = Tensor::empty(shape);
  kernels::matmul(a, b, out, {.alpha = alpha});
  return out;
}

void product_into_grad(const kernels::MatmulOperand& a, const kernels::MatmulOperand& b, const GradSink& sink) {
  if (Tensor so_far = sink.gradient_to_add_into(); so_far.defined()) {
    Tensor rows = so_far.view({a.dim(-2), b.dim(-1)});
    kernels::matmul(a, b, rows, {.accumulate = true});
    return;
  }
  sink.accumulate_grad(product(a, b).view(sink.shape()));
}

kernels::MatmulOperand rows_operand(const Var& x, int64_t start, int64_t count) {
  const int64_t width = x.value().dim(-1), rows = width == 0 ? 0 : x.value().numel() / width;
  if (count < 0) count = rows - start;
  check(start >= 0 && start + count <= rows, "rows ", start, " to ", start + count, " of ", rows);
  // The copy holds two values a float, so a row range starts on a float when the rows are even.
  const Tensor& copy = x.bf16_copy();
  if (copy.defined() && width % 2 == 0 && kernels::matmul_precision() == kernels::Precision::bf16)
    return kernels::MatmulOperand::of_storage(copy.narrow(0, start * width / 2, count * width / 2), count, width, true);
  return kernels::MatmulOperand(kernels::contiguous(x.value()).view({rows, width}).narrow(0, start, count));
}

Tensor bf16_copy_for(const Tensor& value) {
  if (kernels::matmul_precision() != kernels::Precision::bf16) return Tensor();
  return Tensor::empty({(value.numel() + 1) / 2});
}

}  // namespace detail

namespace {

using detail::product;
using detail::product_into_grad;
using kernels::MatmulOperand;

Tensor t_last(const Tensor& t) { return t.transpose(-1, -2); }

// The heads of a projection [B, T, H * Dh] as a view [B, H, T, Dh].
Tensor heads_of(const Tensor& x, int64_t heads) {
  return x.view({x.dim(0), x.dim(1), heads, x.dim(2) / heads}).permute({0, 2, 1, 3});
}

// a @ b per head ([B, H, T, Dh]), written through the heads' view of a new projection-shaped tensor.
Tensor product_by_head(const MatmulOperand& a, const MatmulOperand& b, const Shape& shape, int64_t heads,
                       float alpha = 1.0f) {
  Tensor out = Tensor::empty(shape), by_head = heads_of(out, heads);
  kernels::matmul(a, b, by_head, {.alpha = alpha});
  return out;
}

void check_projection(const Tensor& x, int64_t heads, const char* op, const char* name) {
  check(heads > 0 && x.ndim() == 3 && x.dim(2) % heads == 0, op, ": ", name, " must be [B, T, H * Dh] for ", heads,
        " heads, got ", shape_text(x.shape()));
}

}  // namespace

// The operands are prepared once (in bf16: rounded once) and kept for the
// backward, which prepares the incoming gradient once for its two products.
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
  const MatmulOperand pa(a_op), pb(b_op);
  Tensor out = product(pa, pb, alpha);
  return Var::from_op(out, {a, b}, [pa, pb, a = a.sink(), b = b.sink(), transpose_a, transpose_b,
                                    alpha](const Tensor& g) {
    // d(a_op) = g @ b_op^T, d(b_op) = a_op^T @ g; a transposed operand takes
    // the transposed product, computed directly in its own layout.
    const MatmulOperand pg(g);
    if (a.requires_grad())
      a.accumulate_grad(transpose_a ? product(pb, pg.transposed(), alpha) : product(pg, pb.transposed(), alpha));
    if (b.requires_grad())
      b.accumulate_grad(transpose_b ? product(pg.transposed(), pa, alpha) : product(pa.transposed(), pg, alpha));
  });
}

Var attention_scores(const Var& q, const Var& k, int64_t heads, float scale) {
  check_projection(q.value(), heads, "attention_scores", "q");
  check_projection(k.value(), heads, "attention_scores", "k");
  check(q.value().dim(0) == k.value().dim(0) && q.value().dim(2) == k.value().dim(2), "attention_scores: q ",
        shape_text(q.shape()), " and k ", shape_text(k.shape()), " differ in batch or width");
  const MatmulOperand qh(heads_of(kernels::contiguous(q.value()), heads));
  const MatmulOperand kh(heads_of(kernels::contiguous(k.value()), heads));
  return Var::from_op(product(qh, kh.transposed(), scale), {q, k},
                      [qh, kh, q = q.sink(), k = k.sink(), heads, scale](const Tensor& g) {
                        const MatmulOperand pg(g);  // [B, H, T, S]
                        if (q.requires_grad()) q.accumulate_grad(product_by_head(pg, kh, q.shape(), heads, scale));
                        if (k.requires_grad())
                          k.accumulate_grad(product_by_head(pg.transposed(), qh, k.shape(), heads, scale));
                      });
}

Var attention_context(const Var& p, const Var& v, int64_t heads) {
  check_projection(v.value(), heads, "attention_context", "v");
  check(p.value().ndim() == 4 && p.value().dim(0) == v.value().dim(0) && p.value().dim(1) == heads &&
            p.value().dim(3) == v.value().dim(1),
        "attention_context needs p [B, H, T, S] for v ", shape_text(v.shape()), " and ", heads, " heads, got ",
        shape_text(p.shape()));
  const MatmulOperand pp(p.value()), vh(heads_of(kernels::contiguous(v.value()), heads));
  const Shape merged = {p.value().dim(0), p.value().dim(2), v.value().dim(2)};  // [B, T, H * Dh]
  return Var::from_op(product_by_head(pp, vh, merged, heads), {p, v},
                      [pp, vh, p = p.sink(), v = v.sink(), heads](const Tensor& g) {
                        const MatmulOperand pg(heads_of(kernels::contiguous(g), heads));  // [B, H, T, Dh]
                        if (p.requires_grad()) p.accumulate_grad(product(pg, vh.transposed(), 1.0f));
                        if (v.requires_grad())
                          v.accumulate_grad(product_by_head(pp.transposed(), pg, v.shape(), heads));
                      });
}

namespace {

// linear, and linear_relu with the ReLU applied by the product's post-op; its
// backward masks the gradient with the output (y > 0 exactly where the
// product was), then goes on as linear's.
Var linear_impl(const Var& x, const Var& weight, const Var& bias, bool relu) {
  check(weight.value().ndim() == 2, "linear weight must be [Out, In], got ",
        shape_text(weight.shape()));
  const int64_t in = weight.value().dim(1), out_width = weight.value().dim(0);
  check(x.value().ndim() >= 1 && x.value().dim(-1) == in, "linear: input ",
        shape_text(x.shape()), " does not fit weight ", shape_text(weight.shape()));
  static const Shape kNoBias;
  check(!bias.defined() || (bias.shape().size() == 1 && bias.shape()[0] == out_width), "linear: bias ",
        shape_text(bias.defined() ? bias.shape() : kNoBias), " does not fit weight ",
        shape_text(weight.shape()));
  const MatmulOperand x2 = detail::rows_operand(x);                               // [R, In]
  const MatmulOperand wt = MatmulOperand::transposed_weights({weight.value()});  // [In, Out]
  Tensor y = Tensor::empty({x2.dim(0), out_width});                              // [R, Out]
  kernels::matmul(x2, wt, y, {.bias = bias.defined() ? &bias.value() : nullptr, .relu = relu});
  Shape out_shape = x.shape();
  out_shape.back() = out_width;
  const Tensor kept = relu ? y : Tensor();  // the ReLU's mask; linear keeps no output
  return Var::from_op(y.view(out_shape), {x, weight, bias}, [x = x.sink(), x2, w = wt.transposed(), weight = weight.sink(),
                                                             bias = bias.sink(), relu, y = kept](const Tensor& g) {
    Tensor g2 = g.view({-1, g.dim(-1)});  // [R, Out]
    if (relu) {
      Tensor masked = Tensor::empty(g2.shape());
      kernels::activation_backward(kernels::Activation::relu, y, kernels::contiguous(g2), masked);
      g2 = masked;
    }
    // The bias gradient is summed in the pass that prepares the operand.
    Tensor db = bias.requires_grad() ? Tensor::empty({g2.dim(1)}) : Tensor();
    const MatmulOperand pg = db.defined() ? kernels::gradient_operand(kernels::contiguous(g2), db) : MatmulOperand(g2);
    if (x.requires_grad()) product_into_grad(pg, w, x);
    if (weight.requires_grad()) product_into_grad(pg.transposed(), x2, weight);
    if (db.defined()) bias.accumulate_grad(db);
  });
}

}  // namespace

Var linear(const Var& x, const Var& weight, const Var& bias) { return linear_impl(x, weight, bias, false); }
Var linear_relu(const Var& x, const Var& weight, const Var& bias) { return linear_impl(x, weight, bias, true); }

}  // namespace rosetta::ops
