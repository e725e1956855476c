// A sublayer's residual connection as one op: x + dropout(f), and with
// post-norm its layer norm too (kernels/cpu/residual.cpp makes one pass).
// The dropout key is drawn as ops::dropout draws it, so the fused ops drop
// what dropout() followed by add() would.
#include "kernels/kernels.h"
#include "rosetta/error.h"
#include "rosetta/ops/ops.h"

namespace rosetta::ops {

namespace {

struct Drop {
  float p = 0.0f;
  uint64_t key = 0;
};

Drop draw(float p, Rng* rng) {
  if (!rng || p == 0.0f) return {};
  return {p, rng->next_u64()};
}

void check_same_shape(const Var& x, const Var& f) {
  check(x.shape() == f.shape(), "residual of ", shape_text(x.shape()), " and ", shape_text(f.shape()),
        ": the sublayer's output must have its input's shape");
}

// The gradient of f from the gradient of the sum: masked as the forward was.
Tensor dropped_gradient(const Tensor& g, Drop drop) {
  if (drop.p == 0.0f) return g;
  Tensor df = Tensor::empty(g.shape());
  kernels::dropout_backward(g, drop.p, drop.key, df);
  return df;
}

}  // namespace

Var residual(const Var& x, const Var& f, float p, Rng* rng) {
  check_same_shape(x, f);
  const Drop drop = draw(p, rng);
  Tensor s = Tensor::empty(x.shape());
  kernels::dropout_add(kernels::contiguous(x.value()), kernels::contiguous(f.value()), drop.p, drop.key, s);
  return Var::from_op(s, {x, f}, [x = x.sink(), f = f.sink(), drop](const Tensor& g) {
    const Tensor dg = kernels::contiguous(g);
    if (f.requires_grad()) f.accumulate_grad(dropped_gradient(dg, drop));
    if (x.requires_grad()) x.accumulate_grad(dg);
  });
}

Var residual_layer_norm(const Var& x, const Var& f, float p, Rng* rng, const Var& gain, const Var& bias, float eps) {
  check_same_shape(x, f);
  check(x.value().ndim() >= 1, "layer_norm of a scalar");
  const Drop drop = draw(p, rng);
  const int64_t width = x.value().dim(-1);
  const Tensor xs = kernels::contiguous(x.value()).view({-1, width});
  const Tensor fs = kernels::contiguous(f.value()).view({-1, width});
  const int64_t rows = xs.dim(0);
  Tensor s = Tensor::empty(xs.shape()), y = Tensor::empty(xs.shape());
  Tensor mean = Tensor::empty({rows}), variance = Tensor::empty({rows});
  kernels::dropout_add_layer_norm(xs, fs, drop.p, drop.key, gain.value(), bias.value(), eps, s, y, mean, variance);
  return Var::from_op(y.view(x.shape()), {x, f, gain, bias},
                      [x = x.sink(), f = f.sink(), gain = gain.sink(), bias = bias.sink(), gain_value = gain.value(),
                       bias_value = bias.value(), s, mean, variance, eps, drop](const Tensor& g) {
                        Tensor ds = Tensor::empty(s.shape());
                        Tensor dgain = Tensor::empty(gain.shape()), dbias = Tensor::empty(bias.shape());
                        kernels::layer_norm_backward(s, kernels::contiguous(g).view(s.shape()), gain_value, bias_value,
                                                     mean, variance, eps, ds, dgain, dbias);
                        const Tensor dsum = ds.view(x.shape());
                        if (f.requires_grad()) f.accumulate_grad(dropped_gradient(dsum, drop));
                        if (x.requires_grad()) x.accumulate_grad(dsum);
                        if (gain.requires_grad()) gain.accumulate_grad(dgain);
                        if (bias.requires_grad()) bias.accumulate_grad(dbias);
                      });
}

}  // namespace rosetta::ops
