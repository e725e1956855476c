// Layer normalisation over the last axis with a learned gain and bias
// (oneDNN layer_normalization with use_scale | use_shift). The forward keeps
// the row mean and variance for the backward.
#include "context.h"
#include "kernels/kernels.h"
#include "rosetta/error.h"

namespace rosetta::kernels {

using namespace dnnl_ctx;

namespace {

const auto kFlags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;

Shape stat_shape(const Tensor& x) {
  Shape shape = x.shape();
  shape.pop_back();
  return shape;
}

Entry layer_norm_forward_entry(const Tensor& x, float eps) {
  std::string key = "layernorm_fwd";
  key_append(key, eps);
  key_append(key, x);
  return cached(std::move(key), [&] {
    const Shape stats = stat_shape(x);
    dnnl::layer_normalization_forward::desc desc(dnnl::prop_kind::forward_training, desc_of(x),
                                                 desc_of(stats, contiguous_strides(stats)), eps,
                                                 kFlags);
    dnnl::layer_normalization_forward::primitive_desc pd(desc, attributes(), engine());
    return Entry{dnnl::layer_normalization_forward(pd), pd};
  });
}

}  // namespace

void layer_norm_forward(const Tensor& x, const Tensor& gain, const Tensor& bias, float eps,
                        Tensor& y, Tensor& mean, Tensor& variance) {
  check(x.ndim() >= 2 && x.is_contiguous() && y.shape() == x.shape(),
        "layer norm needs a contiguous [rows, width] input, got ", shape_text(x.shape()));
  check(gain.shape() == Shape{x.dim(-1)} && bias.shape() == gain.shape(), "layer norm gain ",
        shape_text(gain.shape()), " and bias ", shape_text(bias.shape()), " for input ",
        shape_text(x.shape()));
  check(mean.shape() == stat_shape(x) && variance.shape() == stat_shape(x),
        "layer norm statistics shape");
  if (x.numel() == 0) return;
  execute(layer_norm_forward_entry(x, eps), {{DNNL_ARG_SRC, memory_of(x)},
                                             {DNNL_ARG_DST, memory_of(y)},
                                             {DNNL_ARG_SCALE, memory_of(gain)},
                                             {DNNL_ARG_SHIFT, memory_of(bias)},
                                             {DNNL_ARG_MEAN, memory_of(mean)},
                                             {DNNL_ARG_VARIANCE, memory_of(variance)}});
}

void layer_norm_backward(const Tensor& x, const Tensor& dy, const Tensor& gain,
                         const Tensor& bias, const Tensor& mean, const Tensor& variance, float eps, Tensor& dx,
                         Tensor& dgain, Tensor& dbias) {
  check(dy.shape() == x.shape() && dx.shape() == x.shape() && dy.is_contiguous(),
        "layer norm backward shapes ", shape_text(x.shape()), ", ", shape_text(dy.shape()));
  if (x.numel() == 0) return;
  std::string key = "layernorm_bwd";
  key_append(key, eps);
  key_append(key, x);
  const Entry entry = cached(std::move(key), [&] {
    const auto hint = typed_pd<dnnl::layer_normalization_forward::primitive_desc>(
        layer_norm_forward_entry(x, eps));
    const Shape stats = stat_shape(x);
    dnnl::layer_normalization_backward::desc desc(dnnl::prop_kind::backward, desc_of(dy),
                                                  desc_of(x),
                                                  desc_of(stats, contiguous_strides(stats)), eps,
                                                  kFlags);
    dnnl::layer_normalization_backward::primitive_desc pd(desc, attributes(), engine(), hint);
    return Entry{dnnl::layer_normalization_backward(pd), pd};
  });
  execute(entry, {{DNNL_ARG_SRC, memory_of(x)},
                  {DNNL_ARG_DIFF_DST, memory_of(dy)},
                  {DNNL_ARG_SCALE, memory_of(gain)},
                  {DNNL_ARG_SHIFT, memory_of(bias)},  // unread, but oneDNN 2.6 checks for it
                  {DNNL_ARG_MEAN, memory_of(mean)},
                  {DNNL_ARG_VARIANCE, memory_of(variance)},
                  {DNNL_ARG_DIFF_SRC, memory_of(dx)},
                  {DNNL_ARG_DIFF_SCALE, memory_of(dgain)},
                  {DNNL_ARG_DIFF_SHIFT, memory_of(dbias)}});
}

}  // namespace rosetta::kernels
