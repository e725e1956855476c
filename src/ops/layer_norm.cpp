// Layer norm over the last axis on oneDNN layer_normalization; the forward
// keeps the row statistics for the backward.
#include "kernels/kernels.h"
#include "ops/product.h"
#include "rosetta/error.h"
#include "rosetta/ops/ops.h"

namespace rosetta::ops {

Var layer_norm(const Var& x, const Var& gain, const Var& bias, float eps) {
  check(x.value().ndim() >= 1, "layer_norm of a scalar");
  const int64_t width = x.value().dim(-1);
  const Tensor input = kernels::contiguous(x.value()).view({-1, width});  // [R, D]
  const int64_t rows = input.dim(0);
  Tensor y = Tensor::empty(input.shape());
  Tensor mean = Tensor::empty({rows}), variance = Tensor::empty({rows});
  kernels::layer_norm_forward(input, gain.value(), bias.value(), eps, y, mean, variance);
  Var out = Var::from_op(y.view(x.shape()), {x, gain, bias},
                         [x = x.sink(), gain_value = gain.value(), bias_value = bias.value(), gain = gain.sink(),
                          bias = bias.sink(), input, mean, variance, eps](const Tensor& g) {
                           Tensor dx = Tensor::empty(input.shape());
                           Tensor dgain = Tensor::empty(gain.shape());
                           Tensor dbias = Tensor::empty(bias.shape());
                           kernels::layer_norm_backward(input, g.view(input.shape()), gain_value,
                                                        bias_value,
                                                        mean, variance, eps, dx, dgain, dbias);
                           if (x.requires_grad()) x.accumulate_grad(dx.view(x.shape()));
                           if (gain.requires_grad()) gain.accumulate_grad(dgain);
                           if (bias.requires_grad()) bias.accumulate_grad(dbias);
                         });
  // Rounded once for the products that read it (a pre-norm block's three projections), not once by each.
  if (Tensor rounded = detail::bf16_copy_for(y); rounded.defined()) {
    kernels::round_to_bf16(y.data(), reinterpret_cast<uint16_t*>(rounded.data()), y.numel());
    out.attach_bf16_copy(std::move(rounded));
  }
  return out;
}

}  // namespace rosetta::ops
