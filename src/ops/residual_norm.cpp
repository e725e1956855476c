// A post-norm block's end, layer_norm(x + dropout(h)), as one op: see
// kernels::residual_layer_norm_forward.
#include "kernels/kernels.h"
#include "ops/product.h"
#include "rosetta/error.h"
#include "rosetta/ops/ops.h"

namespace rosetta::ops {

Var residual_layer_norm(const Var& x, const Var& h, float p, Rng* dropout_rng, const Var& gain, const Var& bias,
                        float eps) {
  check(x.shape() == h.shape(), "residual_layer_norm: residual ", shape_text(x.shape()), " and sublayer output ",
        shape_text(h.shape()), " differ");
  check(x.value().ndim() >= 1, "residual_layer_norm of a scalar");
  // The same draw as ops::dropout: one key, and only when something is dropped.
  const float drop = dropout_rng && p > 0.0f ? p : 0.0f;
  const uint64_t key = drop > 0.0f ? dropout_rng->next_u64() : 0;
  const Tensor input = kernels::contiguous(x.value()), output = kernels::contiguous(h.value());
  const int64_t width = input.dim(-1), rows = width == 0 ? 0 : input.numel() / width;
  Tensor sum = Tensor::empty(input.shape()), y = Tensor::empty(input.shape());
  Tensor mean = Tensor::empty({rows}), rstd = Tensor::empty({rows});
  Tensor rounded = detail::bf16_copy_for(y);  // for the products that read y (in bf16 only)
  kernels::residual_layer_norm_forward(input, output, drop, key, gain.value(), bias.value(), eps, sum, y, mean, rstd,
                                       rounded.defined() ? &rounded : nullptr);
  Var out = Var::from_op(y, {x, h, gain, bias},
                         [x = x.sink(), h = h.sink(), gain_value = gain.value(), gain = gain.sink(), bias = bias.sink(),
                          sum, mean, rstd, drop, key](const Tensor& g) {
                           Tensor dsum = Tensor::empty(sum.shape()), dh = Tensor::empty(sum.shape());
                           Tensor dgain = Tensor::empty(gain.shape()), dbias = Tensor::empty(bias.shape());
                           kernels::residual_layer_norm_backward(kernels::contiguous(g), sum, mean, rstd, gain_value,
                                                                 drop, key, dsum, dh, dgain, dbias);
                           if (x.requires_grad()) x.accumulate_grad(dsum);
                           if (h.requires_grad()) h.accumulate_grad(dh);
                           if (gain.requires_grad()) gain.accumulate_grad(dgain);
                           if (bias.requires_grad()) bias.accumulate_grad(dbias);
                         });
  if (rounded.defined()) out.attach_bf16_copy(std::move(rounded));
  return out;
}

}  // namespace rosetta::ops
