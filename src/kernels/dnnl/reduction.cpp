// Sums over axes (oneDNN reduction): the backward of broadcasting, bias
// gradients, and sum/mean.
#include "context.h"
#include "kernels/kernels.h"
#include "rosetta/error.h"

namespace rosetta::kernels {

using namespace dnnl_ctx;

void reduce_sum(const Tensor& x, Tensor& out) {
  check(x.ndim() == out.ndim(), "reduce_sum: ", to_string(out.shape()), " must have the rank of ",
        to_string(x.shape()));
  for (int i = 0; i < x.ndim(); ++i)
    check(out.shape()[i] == x.shape()[i] || out.shape()[i] == 1, "reduce_sum: cannot reduce ",
          to_string(x.shape()), " to ", to_string(out.shape()));
  if (x.shape() == out.shape()) {
    copy(x, out);
    return;
  }
  if (x.numel() == 0) {
    std::fill_n(out.data(), out.numel(), 0.0f);
    return;
  }
  std::string key = "reduce_sum";
  key_append(key, x);
  key_append(key, out);
  const auto& entry = cached(key, [&] {
    dnnl::reduction::desc desc(dnnl::algorithm::reduction_sum, desc_of(x), desc_of(out), 0.0f,
                               0.0f);
    dnnl::reduction::primitive_desc pd(desc, engine());
    return Entry{dnnl::reduction(pd), pd};
  });
  execute(entry, {{DNNL_ARG_SRC, memory_of(x)}, {DNNL_ARG_DST, memory_of(out)}});
}

}  // namespace rosetta::kernels
