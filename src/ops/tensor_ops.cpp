#include "rosetta/ops/tensor_ops.h"

#include "kernels/kernels.h"

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

Tensor contiguous(const Tensor& t) { return kernels::contiguous(t); }

}  // namespace rosetta::ops
