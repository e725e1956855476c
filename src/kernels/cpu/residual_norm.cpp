// A post-norm block's end, y = layer_norm(x + dropout(h)), one row at a
// time: the row of the residual sum stays in cache while its statistics and
// its normalised values are computed, where the separate ops made a pass for
// the dropout, one for the add and two inside oneDNN's layer norm. The
// backward likewise gives both gradients (the residual's and, through the
// mask, the sublayer's) from one pass a row. Statistics are fp32, as
// oneDNN's; the dropout mask is dropout_forward's, element for element.
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <vector>

#include "kernels/cpu/dropout_mask.h"
#include "kernels/kernels.h"
#include "rosetta/error.h"

namespace rosetta::kernels {

namespace {

// Gain and bias gradients are summed per group of rows, then group by
// group: the same for any thread count.
constexpr int64_t kGroupRows = 16;

void check_rows(const Tensor& t, int64_t rows, int64_t width, const char* what) {
  check(t.is_contiguous() && t.numel() == rows * width, "residual layer norm: ", what, " of shape ",
        shape_text(t.shape()), " for ", rows, " rows of ", width);
}

void check_vector(const Tensor& t, int64_t width, const char* what) {
  check(t.is_contiguous() && t.numel() == width, "residual layer norm: ", what, " of ", t.numel(), " values for rows of ",
        width);
}

}  // namespace

void residual_layer_norm_forward(const Tensor& x, const Tensor& h, float p, uint64_t key, const Tensor& gain,
                                 const Tensor& bias, float eps, Tensor& sum, Tensor& y, Tensor& mean, Tensor& rstd,
                                 Tensor* y_bf16) {
  check(x.ndim() >= 1, "residual layer norm of a scalar");
  const int64_t width = x.dim(-1), rows = width == 0 ? 0 : x.numel() / width;
  for (const Tensor* t : std::initializer_list<const Tensor*>{&x, &h, &sum, &y}) check_rows(*t, rows, width, "a tensor");
  check_vector(gain, width, "gain");
  check_vector(bias, width, "bias");
  check_vector(mean, rows, "mean");
  check_vector(rstd, rows, "rstd");
  check(!y_bf16 || (y_bf16->is_contiguous() && y_bf16->numel() == (rows * width + 1) / 2),
        "residual layer norm: a bf16 output of ", y_bf16 ? y_bf16->numel() : 0, " floats for ", rows * width, " values");
  uint16_t* rounded = y_bf16 ? reinterpret_cast<uint16_t*>(y_bf16->data()) : nullptr;
  const dropout_mask::Mask m(p, key);
  const float *xs = x.data(), *hs = h.data(), *g = gain.data(), *b = bias.data();
  float *ss = sum.data(), *ys = y.data(), *means = mean.data(), *rstds = rstd.data();
  const float inv_width = 1.0f / static_cast<float>(width);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t at = r * width;
    float* s = ss + at;
    if (p > 0.0f) dropout_mask::mask_range(m, hs + at, at, width, s);
    else std::memcpy(s, hs + at, static_cast<size_t>(width) * sizeof(float));
    const float* xr = xs + at;
    float total = 0.0f;
#pragma omp simd reduction(+ : total)
    for (int64_t c = 0; c < width; ++c) {
      s[c] += xr[c];
      total += s[c];
    }
    const float mu = total * inv_width;
    float squares = 0.0f;
#pragma omp simd reduction(+ : squares)
    for (int64_t c = 0; c < width; ++c) squares += (s[c] - mu) * (s[c] - mu);
    const float inv_std = 1.0f / std::sqrt(squares * inv_width + eps);
    float* yr = ys + at;
#pragma omp simd
    for (int64_t c = 0; c < width; ++c) yr[c] = (s[c] - mu) * inv_std * g[c] + b[c];
    if (rounded) round_to_bf16_serial(yr, rounded + at, width);  // while the row is in cache
    means[r] = mu;
    rstds[r] = inv_std;
  }
}

void residual_layer_norm_backward(const Tensor& dy, const Tensor& sum, const Tensor& mean, const Tensor& rstd,
                                  const Tensor& gain, float p, uint64_t key, Tensor& dsum, Tensor& dh, Tensor& dgain,
                                  Tensor& dbias) {
  check(sum.ndim() >= 1, "residual layer norm of a scalar");
  const int64_t width = sum.dim(-1), rows = width == 0 ? 0 : sum.numel() / width;
  for (const Tensor* t : std::initializer_list<const Tensor*>{&dy, &sum, &dsum, &dh}) check_rows(*t, rows, width, "a tensor");
  for (const Tensor* t : std::initializer_list<const Tensor*>{&gain, &dgain, &dbias}) check_vector(*t, width, "gain or bias");
  check_vector(mean, rows, "mean");
  check_vector(rstd, rows, "rstd");
  const dropout_mask::Mask m(p, key);
  const int64_t groups = (rows + kGroupRows - 1) / kGroupRows;
  // Per group: the gain's gradient terms, then the bias's.
  Tensor partial = Tensor::zeros({std::max<int64_t>(groups, 1) * 2 * width});  // cached: no fresh pages each call
  const float *gs = dy.data(), *ss = sum.data(), *means = mean.data(), *rstds = rstd.data(), *g = gain.data();
  float *dss = dsum.data(), *dhs = dh.data();
  const float inv_width = 1.0f / static_cast<float>(width);
#pragma omp parallel for schedule(static)
  for (int64_t grp = 0; grp < groups; ++grp) {
    float* dgain_part = partial.data() + grp * 2 * width;
    float* dbias_part = dgain_part + width;
    for (int64_t r = grp * kGroupRows; r < std::min(rows, (grp + 1) * kGroupRows); ++r) {
      const int64_t at = r * width;
      const float *dyr = gs + at, *s = ss + at;
      const float mu = means[r], inv_std = rstds[r];
      // xhat = (s - mu) inv_std; ds = inv_std (g dy - mean(g dy) - xhat mean(g dy xhat)).
      float sum_gdy = 0.0f, sum_gdy_xhat = 0.0f;
#pragma omp simd reduction(+ : sum_gdy, sum_gdy_xhat)
      for (int64_t c = 0; c < width; ++c) {
        const float xhat = (s[c] - mu) * inv_std;
        const float gdy = g[c] * dyr[c];
        sum_gdy += gdy;
        sum_gdy_xhat += gdy * xhat;
        dgain_part[c] += dyr[c] * xhat;
        dbias_part[c] += dyr[c];
      }
      const float a = sum_gdy * inv_width, bterm = sum_gdy_xhat * inv_width;
      float* ds = dss + at;
#pragma omp simd
      for (int64_t c = 0; c < width; ++c) {
        const float xhat = (s[c] - mu) * inv_std;
        ds[c] = inv_std * (g[c] * dyr[c] - a - xhat * bterm);
      }
      if (p > 0.0f) dropout_mask::mask_range(m, ds, at, width, dhs + at);
      else std::memcpy(dhs + at, ds, static_cast<size_t>(width) * sizeof(float));
    }
  }
  float *dg = dgain.data(), *db = dbias.data();
  std::fill_n(dg, width, 0.0f);
  std::fill_n(db, width, 0.0f);
  for (int64_t grp = 0; grp < groups; ++grp) {
    const float* dgain_part = partial.data() + grp * 2 * width;
    const float* dbias_part = dgain_part + width;
#pragma omp simd
    for (int64_t c = 0; c < width; ++c) {
      dg[c] += dgain_part[c];
      db[c] += dbias_part[c];
    }
  }
}

}  // namespace rosetta::kernels
