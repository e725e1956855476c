// Sums over axes (oneDNN reduction): the backward of broadcasting, bias
// gradients, and sum/mean.
#include "context.h"
#include "kernels/kernels.h"
#include "rosetta/error.h"

namespace rosetta::kernels {

using namespace dnnl_ctx;

void reduce_sum(const Tensor& x, Tensor& out) {
  check(x.ndim() == out.ndim(), "reduce_sum: ", shape_text(out.shape()), " must have the rank of ",
        shape_text(x.shape()));
  for (int i = 0; i < x.ndim(); ++i)
    check(out.shape()[i] == x.shape()[i] || out.shape()[i] == 1, "reduce_sum: cannot reduce ",
          shape_text(x.shape()), " to ", shape_text(out.shape()));
  if (x.shape() == out.shape()) {
    copy(x, out);
    return;
  }
  if (x.numel() == 0) {
    std::fill_n(out.data(), out.numel(), 0.0f);
    return;
  }
  // Summing over leading or trailing axes is a product with a vector of ones,
  // which oneDNN's matmul does far faster than its reference reduction; in
  // fp32 whatever the products' precision (bias gradients are such sums, and
  // rounding their terms to bf16 would cost a pass and their accuracy).
  const Tensor input = contiguous(x);
  int leading = 0, trailing = 0;  // reduced axes at the front, kept at the back (or the reverse)
  while (leading < x.ndim() && out.shape()[leading] == 1) ++leading;
  while (trailing < x.ndim() && out.shape()[x.ndim() - 1 - trailing] == 1) ++trailing;
  const bool front = [&] {
    for (int i = leading; i < x.ndim(); ++i)
      if (out.shape()[i] != x.shape()[i]) return false;
    return true;
  }();
  const bool back = [&] {
    for (int i = 0; i < x.ndim() - trailing; ++i)
      if (out.shape()[i] != x.shape()[i]) return false;
    return true;
  }();
  if (front || back) {
    const int64_t kept = out.numel(), reduced = x.numel() / kept;
    thread_local Tensor ones;
    if (!ones.defined() || ones.numel() < reduced) ones = Tensor::full({reduced}, 1.0f);
    const Tensor ones_view = ones.narrow(0, 0, reduced);
    Tensor result = out.view({front ? 1 : kept, front ? kept : 1});
    const auto ones_op = MatmulOperand::of_storage(ones_view, front ? 1 : reduced, front ? reduced : 1, false);
    const auto input_op = MatmulOperand::of_storage(input.view({input.numel()}), front ? reduced : kept,
                                                    front ? kept : reduced, false);
    if (front) matmul(ones_op, input_op, result);
    else matmul(input_op, ones_op, result);
    return;
  }
  std::string key = "reduce_sum";
  key_append(key, input);
  key_append(key, out);
  const Entry entry = cached(std::move(key), [&] {
    dnnl::reduction::desc desc(dnnl::algorithm::reduction_sum, desc_of(input), desc_of(out), 0.0f, 0.0f);
    dnnl::reduction::primitive_desc pd(desc, attributes(), engine());
    return Entry{dnnl::reduction(pd), pd};
  });
  execute(entry, {{DNNL_ARG_SRC, memory_of(input)}, {DNNL_ARG_DST, memory_of(out)}});
}

}  // namespace rosetta::kernels
