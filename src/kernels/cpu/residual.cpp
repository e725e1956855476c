// The residual connection of a Transformer sublayer in one pass: s = x +
// dropout(f) (the mask is dropout_forward's for the same key, so the fused
// and the separate ops drop the same elements), and for post-norm the layer
// norm of s in the same sweep over each row while it is in cache. Separately
// the three ops read or write [rows, width] six times; fused, four.
#include <algorithm>
#include <cmath>

#include "kernels/kernels.h"
#include "rosetta/error.h"
#include "rosetta/tensor/random.h"

namespace rosetta::kernels {

namespace {

void check_residual(const Tensor& x, const Tensor& f, float p, const Tensor& s) {
  check(p >= 0.0f && p < 1.0f, "dropout probability must be in [0, 1), got ", p);
  check(x.is_contiguous() && f.is_contiguous() && s.is_contiguous() && f.shape() == x.shape() && s.shape() == x.shape(),
        "residual shapes ", shape_text(x.shape()), ", ", shape_text(f.shape()), ", ", shape_text(s.shape()));
}

// s[i] = x[i] + mask(i) * f[i] for i in [begin, end) of the flat tensor.
inline void add_dropped(const float* x, const float* f, float* s, int64_t begin, int64_t end, uint32_t threshold,
                        float keep_scale, uint64_t mixed_key, bool drop) {
  if (!drop) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) s[i] = x[i] + f[i];
    return;
  }
#pragma omp simd
  for (int64_t i = begin; i < end; ++i)
    s[i] = x[i] + (hash_bits24(mixed_key, static_cast<uint64_t>(i)) < threshold ? 0.0f : f[i] * keep_scale);
}

}  // namespace

void dropout_add(const Tensor& x, const Tensor& f, float p, uint64_t key, Tensor& s) {
  check_residual(x, f, p, s);
  const auto threshold = static_cast<uint32_t>(static_cast<double>(p) * 16777216.0);
  const float keep_scale = 1.0f / (1.0f - p);
  const uint64_t mixed_key = mix64(key);
  const int64_t n = x.numel(), block = 4096;
  const float *xs = x.data(), *fs = f.data();
  float* out = s.data();
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < n; b += block)
    add_dropped(xs, fs, out, b, std::min(n, b + block), threshold, keep_scale, mixed_key, p > 0.0f);
}

void dropout_add_layer_norm(const Tensor& x, const Tensor& f, float p, uint64_t key, const Tensor& gain,
                            const Tensor& bias, float eps, Tensor& s, Tensor& y, Tensor& mean, Tensor& variance) {
  check_residual(x, f, p, s);
  const int64_t width = x.dim(-1), rows = x.numel() / std::max<int64_t>(width, 1);
  check(y.shape() == x.shape() && y.is_contiguous() && gain.shape() == Shape{width} && bias.shape() == Shape{width} &&
            mean.numel() == rows && variance.numel() == rows,
        "residual layer norm: gain ", shape_text(gain.shape()), ", bias ", shape_text(bias.shape()), " for input ",
        shape_text(x.shape()));
  const auto threshold = static_cast<uint32_t>(static_cast<double>(p) * 16777216.0);
  const float keep_scale = 1.0f / (1.0f - p);
  const uint64_t mixed_key = mix64(key);
  const float *xs = x.data(), *fs = f.data(), *g = gain.data(), *b = bias.data();
  float *ss = s.data(), *ys = y.data(), *mu = mean.data(), *var = variance.data();
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t begin = r * width;
    add_dropped(xs, fs, ss, begin, begin + width, threshold, keep_scale, mixed_key, p > 0.0f);
    const float* row = ss + begin;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < width; ++i) sum += row[i];
    const float m = sum / static_cast<float>(width);
    float squares = 0.0f;  // about the mean, as oneDNN's layer norm computes the variance
#pragma omp simd reduction(+ : squares)
    for (int64_t i = 0; i < width; ++i) squares += (row[i] - m) * (row[i] - m);
    const float v = squares / static_cast<float>(width);
    const float inv = 1.0f / std::sqrt(v + eps);
    float* out = ys + begin;
#pragma omp simd
    for (int64_t i = 0; i < width; ++i) out[i] = (row[i] - m) * inv * g[i] + b[i];
    mu[r] = m;
    var[r] = v;
  }
}

}  // namespace rosetta::kernels
