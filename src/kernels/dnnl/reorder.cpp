// Layout changes through oneDNN reorder: the copy behind contiguous() and
// behind every permute that a kernel needs materialised.
#include <cstring>

#include "context.h"
#include "kernels/kernels.h"
#include "rosetta/error.h"

namespace rosetta::kernels {

using namespace dnnl_ctx;

void copy(const Tensor& src, Tensor& dst) {
  check(src.shape() == dst.shape(), "copy from ", shape_text(src.shape()), " to ",
        shape_text(dst.shape()));
  if (src.numel() == 0) return;
  if (src.is_contiguous() && dst.is_contiguous()) {  // a plain copy: no primitive to look up
    std::memcpy(dst.data(), src.data(), static_cast<size_t>(src.numel()) * sizeof(float));
    return;
  }
  std::string key = "reorder";
  key_append(key, src);
  key_append(key, dst);
  const Entry entry = cached(std::move(key), [&] {
    dnnl::reorder::primitive_desc pd(engine(), desc_of(src), engine(), desc_of(dst), attributes());
    return Entry{dnnl::reorder(pd), pd};
  });
  execute(entry, {{DNNL_ARG_FROM, memory_of(src)}, {DNNL_ARG_TO, memory_of(dst)}});
}

Tensor contiguous(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor out = Tensor::empty(t.shape());
  copy(t, out);
  return out;
}

}  // namespace rosetta::kernels
