// The Transformer's ReLU feed-forward block as one op:
// linear2(dropout(relu(linear1(x)))). Apart, the hidden layer was written in
// fp32, dropout wrote its output only for the second product to round it to
// bf16, and the backward made three passes (dropout, ReLU, rounding) over
// the [rows, ffn] gradient. Here the first product writes the hidden layer
// in the products' precision (bf16: half the bytes, no rounding pass),
// dropout works on it in place, and the backward reads its mask off that one
// copy. In fp32 the values are the separate ops' own, bit for bit; in bf16
// they are too without dropout, and with it the scaled values are rounded
// once more (at most one bf16 step apart).
#include "kernels/kernels.h"
#include "ops/product.h"
#include "rosetta/error.h"
#include "rosetta/ops/ops.h"

namespace rosetta::ops {

using detail::product;
using kernels::MatmulOperand;

Var feed_forward_relu(const Var& x, const Var& w1, const Var& b1, const Var& w2, const Var& b2, float p,
                      Rng* dropout_rng) {
  check(w1.value().ndim() == 2 && w2.value().ndim() == 2 && w2.value().dim(1) == w1.value().dim(0),
        "feed_forward: weights ", shape_text(w1.shape()), " and ", shape_text(w2.shape()), " do not chain");
  const int64_t in = w1.value().dim(1), hidden = w1.value().dim(0), out_width = w2.value().dim(0);
  check(x.value().ndim() >= 1 && x.value().dim(-1) == in, "feed_forward: input ", shape_text(x.shape()),
        " does not fit weight ", shape_text(w1.shape()));
  check(!b1.defined() || b1.value().numel() == hidden, "feed_forward: bias ", shape_text(b1.shape()), " for ",
        hidden, " units");
  check(!b2.defined() || b2.value().numel() == out_width, "feed_forward: bias ", shape_text(b2.shape()), " for ",
        out_width, " outputs");
  if (!dropout_rng) p = 0.0f;
  const MatmulOperand x2 = detail::rows_operand(x);  // [R, In]
  const MatmulOperand w1t = MatmulOperand::transposed_weights({w1.value()});
  const MatmulOperand w2t = MatmulOperand::transposed_weights({w2.value()});
  // The ReLU's output, in the products' precision: dropped out in place, it
  // is the second product's operand and the backward's mask.
  MatmulOperand z = kernels::product_operand(x2, w1t, {.bias = b1.defined() ? &b1.value() : nullptr, .relu = true});
  const uint64_t key = p > 0.0f ? dropout_rng->next_u64() : 0;  // ops::dropout's draw
  kernels::dropout_operand(z, p, key);
  Tensor y = Tensor::empty({x2.dim(0), out_width});
  kernels::matmul(z, w2t, y, {.bias = b2.defined() ? &b2.value() : nullptr});
  Shape out_shape = x.shape();
  out_shape.back() = out_width;
  return Var::from_op(
      y.view(out_shape), {x, w1, b1, w2, b2},
      [x = x.sink(), w1 = w1.sink(), b1 = b1.sink(), w2 = w2.sink(), b2 = b2.sink(), x2, w1_op = w1t.transposed(),
       w2_op = w2t.transposed(), z, p](const Tensor& g) {
        const Tensor g2 = g.view({-1, g.dim(-1)});  // [R, Out]
        // b2's gradient is summed in the pass that prepares the operand.
        Tensor db2 = b2.requires_grad() ? Tensor::empty({g2.dim(1)}) : Tensor();
        const MatmulOperand pg =
            db2.defined() ? kernels::gradient_operand(kernels::contiguous(g2), db2) : MatmulOperand(g2);
        if (w2.requires_grad()) detail::product_into_grad(pg.transposed(), z, w2);
        if (db2.defined()) b2.accumulate_grad(db2);
        if (!x.requires_grad() && !w1.requires_grad() && !b1.requires_grad()) return;
        const Tensor dz = product(pg, w2_op);  // [R, Hidden]
        Tensor db1 = Tensor::empty({dz.dim(1)});
        const MatmulOperand gh = kernels::relu_dropout_backward_operand(dz, z, p, db1);
        if (x.requires_grad()) detail::product_into_grad(gh, w1_op, x);
        if (w1.requires_grad()) detail::product_into_grad(gh.transposed(), x2, w1);
        if (b1.requires_grad()) b1.accumulate_grad(db1);
      });
}

}  // namespace rosetta::ops
