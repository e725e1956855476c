#include "rosetta/ops/tensor_ops.h"

#include "kernels/kernels.h"
#include "rosetta/error.h"

namespace rosetta::ops {

void copy_into(const Tensor& src, Tensor dst) { kernels::copy(src, dst); }

Tensor gather_rows(const Tensor& t, const std::vector<int32_t>& rows) {
  const Tensor table = kernels::contiguous(t).view({t.dim(0), -1});
  Shape shape = t.shape();
  shape[0] = static_cast<int64_t>(rows.size());
  Tensor out = Tensor::empty(shape);
  kernels::embedding_forward(table, rows, out);
  return out;
}

Tensor indexed_attention(const Tensor& q, const Tensor& keys, const Tensor& values, const std::vector<int32_t>& index,
                         int64_t stride, int64_t length, int64_t heads, float scale) {
  check(q.ndim() == 2 && static_cast<int64_t>(index.size()) >= (q.dim(0) - 1) * stride + length,
        "indexed_attention: an index of ", index.size(), " entries for ", shape_text(q.shape()), " queries, stride ",
        stride, ", length ", length);
  Tensor out = Tensor::empty(q.shape());
  kernels::indexed_attention(kernels::contiguous(q), keys, values, index.data(), stride, length, heads, scale, out);
  return out;
}

Tensor contiguous(const Tensor& t) { return kernels::contiguous(t); }

}  // namespace rosetta::ops
