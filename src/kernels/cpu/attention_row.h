// One query's attention over a few keys and values: the inner loop of the
// decoder's step kernels (indexed_attention.cpp, memory_attention.cpp),
// which differ only in where the p-th key and value live.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace rosetta::kernels {

// weights[p] = softmax_p(scale * query . key(p) + bias[p]) for p < length
// (bias may be null), out = sum_p weights[p] * value(p); key(p) and value(p)
// point at vectors of width dh. weights is room for length floats and holds
// the weights after. With every key hidden (bias -inf) all is zero.
template <typename KeyAt, typename ValueAt>
inline void attend_row(const float* query, int64_t dh, int64_t length, float scale, const float* bias, KeyAt key,
                       ValueAt value, float* weights, float* out) {
  float top = -std::numeric_limits<float>::infinity();
  for (int64_t p = 0; p < length; ++p) {
    const float* k = key(p);
    float dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int64_t e = 0; e < dh; ++e) dot += query[e] * k[e];
    weights[p] = bias ? dot * scale + bias[p] : dot * scale;
    top = std::max(top, weights[p]);
  }
  std::fill_n(out, dh, 0.0f);
  if (top == -std::numeric_limits<float>::infinity()) {
    std::fill_n(weights, length, 0.0f);
    return;
  }
  float total = 0;
  for (int64_t p = 0; p < length; ++p) total += weights[p] = std::exp(weights[p] - top);
  for (int64_t p = 0; p < length; ++p) {
    const float w = weights[p] /= total;
    const float* v = value(p);
#pragma omp simd
    for (int64_t e = 0; e < dh; ++e) out[e] += w * v[e];
  }
}

}  // namespace rosetta::kernels
