// Embedding lookup: a row gather forward and a scatter-add backward. oneDNN
// 2.6 has no gather primitive, so these are plain loops.
#include <omp.h>

#include <cstring>

#include "kernels/kernels.h"
#include "rosetta/error.h"

namespace rosetta::kernels {

void embedding_forward(const Tensor& table, const std::vector<int32_t>& ids, Tensor& out) {
  check(table.ndim() == 2 && table.is_contiguous(), "embedding table must be a contiguous matrix");
  const int64_t rows = table.dim(0), width = table.dim(1);
  const int64_t n = static_cast<int64_t>(ids.size());
  check(out.numel() == n * width, "embedding output ", shape_text(out.shape()), " for ", n,
        " ids of width ", width);
  for (int64_t i = 0; i < n; ++i)
    check(ids[i] >= 0 && ids[i] < rows, "token id ", ids[i], " at position ", i,
          " is outside the vocabulary of ", rows);
  const float* src = table.data();
  float* dst = out.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(dst + i * width, src + ids[i] * width, width * sizeof(float));
}

void embedding_backward(const Tensor& dout, const std::vector<int32_t>& ids, int32_t skip_id,
                        Tensor& dtable) {
  const int64_t width = dtable.dim(1);
  const int64_t n = static_cast<int64_t>(ids.size());
  check(dout.numel() == n * width && dout.is_contiguous() && dtable.is_contiguous(),
        "embedding backward shapes ", shape_text(dout.shape()), " and ", shape_text(dtable.shape()));
  const float* g = dout.data();
  float* d = dtable.data();
  // Threads split the width, not the tokens: two tokens may share a row.
#pragma omp parallel
  {
    const int threads = omp_get_num_threads(), me = omp_get_thread_num();
    const int64_t begin = width * me / threads, end = width * (me + 1) / threads;
    for (int64_t i = 0; i < n; ++i) {
      if (ids[i] == skip_id) continue;
      float* row = d + ids[i] * width;
      const float* grad = g + i * width;
      for (int64_t j = begin; j < end; ++j) row[j] += grad[j];
    }
  }
}

}  // namespace rosetta::kernels
