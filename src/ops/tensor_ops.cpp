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

void gather_rows_prefix(const Tensor& t, const std::vector<int32_t>& rows, int64_t prefix, Tensor& out) {
  check(t.ndim() >= 3 && prefix >= 0 && prefix <= t.dim(2), "gather_rows_prefix: prefix ", prefix,
        " of ", to_string(t.shape()));
  Shape shape = t.shape();
  shape[0] = static_cast<int64_t>(rows.size());
  check(out.shape() == shape && out.is_contiguous(), "gather_rows_prefix: output ", to_string(out.shape()),
        ", expected contiguous ", to_string(shape));
  const int64_t per_position = t.numel() / std::max<int64_t>(1, t.dim(0) * t.dim(1) * t.dim(2));
  kernels::gather_row_prefix(kernels::contiguous(t), rows, t.dim(1), prefix * per_position, out);
}

Tensor contiguous(const Tensor& t) { return kernels::contiguous(t); }

}  // namespace rosetta::ops
