// The incremental decoder's self-attention: one new query per row against
// the keys and values of its earlier positions. oneDNN 2.6 has no attention
// primitive, and as batched matmuls these [1 x Dh] . [Dh x t] problems ran at
// ~2 GFLOP/s and needed the cache reordered for every beam-search step; read
// through an index, the cache never moves.
#include <omp.h>

#include <vector>

#include "kernels/cpu/attention_row.h"
#include "kernels/kernels.h"
#include "rosetta/error.h"

namespace rosetta::kernels {

void indexed_attention(const Tensor& q, const Tensor& keys, const Tensor& values, const int32_t* index,
                       int64_t stride, int64_t length, int64_t heads, float scale, Tensor& out) {
  check(q.ndim() == 2 && q.strides()[1] == 1 && out.shape() == q.shape() && out.is_contiguous(),
        "indexed_attention: query ", shape_text(q.shape()), ", output ", shape_text(out.shape()));
  check(keys.ndim() == 2 && keys.shape() == values.shape() && keys.dim(1) == q.dim(1) && keys.is_contiguous() &&
            values.is_contiguous(),
        "indexed_attention: keys ", shape_text(keys.shape()), " and values ", shape_text(values.shape()),
        " for queries ", shape_text(q.shape()));
  const int64_t rows = q.dim(0), d = q.dim(1), cache_rows = keys.dim(0);
  check(heads > 0 && d % heads == 0 && length >= 1 && stride >= length, "indexed_attention: ", heads,
        " heads of width ", d, ", ", length, " positions, stride ", stride);
  for (int64_t b = 0; b < rows; ++b)
    for (int64_t p = 0; p < length; ++p)
      check(index[b * stride + p] >= 0 && index[b * stride + p] < cache_rows, "indexed_attention: row ", b,
            " position ", p, " reads cache row ", index[b * stride + p], " of ", cache_rows);
  const int64_t dh = d / heads, q_stride = q.strides()[0];
  const float* query_data = q.data();
  const float* key_data = keys.data();
  const float* value_data = values.data();
  float* out_data = out.data();
#pragma omp parallel
  {
    std::vector<float> weights(static_cast<size_t>(length));
#pragma omp for collapse(2) schedule(static)
    for (int64_t b = 0; b < rows; ++b)
      for (int64_t h = 0; h < heads; ++h) {
        const int32_t* picks = index + b * stride;
        attend_row(
            query_data + b * q_stride + h * dh, dh, length, scale, nullptr,
            [&](int64_t p) { return key_data + picks[p] * d + h * dh; },
            [&](int64_t p) { return value_data + picks[p] * d + h * dh; }, weights.data(), out_data + b * d + h * dh);
      }
  }
}

}  // namespace rosetta::kernels
