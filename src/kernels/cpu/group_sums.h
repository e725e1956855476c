// Column sums that a parallel loop keeps per fixed group of rows, added
// group by group afterwards: the same bits for any thread count, where an
// OpenMP reduction would add in the order threads arrive.
#pragma once

#include <algorithm>
#include <cstdint>

namespace rosetta::kernels {

// out[c] = sum over g of partial[g * cols + c], g in order.
inline void add_group_sums(const float* partial, int64_t groups, int64_t cols, float* out) {
  std::fill_n(out, cols, 0.0f);
  for (int64_t grp = 0; grp < groups; ++grp) {
    const float* sums = partial + grp * cols;
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) out[c] += sums[c];
  }
}

}  // namespace rosetta::kernels
