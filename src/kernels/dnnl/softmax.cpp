// Softmax and log-softmax over the last axis (oneDNN softmax_v2), forward and
// backward; the backward reads the forward's output, not its input.
#include "context.h"
#include "kernels/kernels.h"
#include "rosetta/error.h"

namespace rosetta::kernels {

using namespace dnnl_ctx;

namespace {

dnnl::algorithm softmax_algorithm(bool log) {
  return log ? dnnl::algorithm::softmax_log : dnnl::algorithm::softmax_accurate;
}

Entry softmax_forward_entry(const Tensor& x, const Tensor& y, bool log) {
  std::string key = log ? "logsoftmax_fwd" : "softmax_fwd";
  key_append(key, x);
  key_append(key, y);
  return cached(std::move(key), [&] {
    dnnl::softmax_v2_forward::desc desc(dnnl::prop_kind::forward_training,
                                        softmax_algorithm(log), desc_of(x), desc_of(y),
                                        x.ndim() - 1);
    dnnl::softmax_v2_forward::primitive_desc pd(desc, attributes(), engine());
    return Entry{dnnl::softmax_v2_forward(pd), pd};
  });
}

}  // namespace

void softmax_forward(const Tensor& x, Tensor& y, bool log) {
  check(x.shape() == y.shape() && x.ndim() >= 1, "softmax: shapes ", shape_text(x.shape()),
        " and ", shape_text(y.shape()));
  if (x.numel() == 0) return;
  execute(softmax_forward_entry(x, y, log),
          {{DNNL_ARG_SRC, memory_of(x)}, {DNNL_ARG_DST, memory_of(y)}});
}

void softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx, bool log) {
  check(y.shape() == dy.shape() && y.shape() == dx.shape(), "softmax backward: shapes ",
        shape_text(y.shape()), ", ", shape_text(dy.shape()), ", ", shape_text(dx.shape()));
  if (y.numel() == 0) return;
  std::string key = log ? "logsoftmax_bwd" : "softmax_bwd";
  key_append(key, y);
  key_append(key, dy);
  key_append(key, dx);
  const Entry entry = cached(std::move(key), [&] {
    const auto hint =
        typed_pd<dnnl::softmax_v2_forward::primitive_desc>(softmax_forward_entry(y, y, log));
    dnnl::softmax_v2_backward::desc desc(softmax_algorithm(log), desc_of(dx), desc_of(dy),
                                         desc_of(y), y.ndim() - 1);
    dnnl::softmax_v2_backward::primitive_desc pd(desc, attributes(), engine(), hint);
    return Entry{dnnl::softmax_v2_backward(pd), pd};
  });
  execute(entry, {{DNNL_ARG_DST, memory_of(y)},
                  {DNNL_ARG_DIFF_DST, memory_of(dy)},
                  {DNNL_ARG_DIFF_SRC, memory_of(dx)}});
}

}  // namespace rosetta::kernels
