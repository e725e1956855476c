// Dropout: oneDNN 2.6 has no dropout primitive. The mask is a stateless hash
// of (key, element index): it does not depend on the thread count, and the
// backward recomputes it rather than keeping it in memory.
#include "kernels/kernels.h"
#include "rosetta/error.h"
#include "rosetta/tensor/random.h"

namespace rosetta::kernels {

namespace {

void apply_mask(const Tensor& in, float p, uint64_t key, Tensor& out) {
  check(p >= 0.0f && p < 1.0f, "dropout probability must be in [0, 1), got ", p);
  check(in.is_contiguous() && out.is_contiguous() && in.shape() == out.shape(), "dropout shapes ",
        shape_text(in.shape()), ", ", shape_text(out.shape()));
  const float keep_scale = 1.0f / (1.0f - p);
  const int64_t n = in.numel();
  const float* x = in.data();
  float* y = out.data();
  // Dropped when its 24 random bits fall under p * 2^24: one hash an element, compared as integers.
  const auto threshold = static_cast<uint32_t>(static_cast<double>(p) * 16777216.0);
  const uint64_t mixed_key = mix64(key);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i)
    y[i] = hash_bits24(mixed_key, static_cast<uint64_t>(i)) < threshold ? 0.0f : x[i] * keep_scale;
}

}  // namespace

void dropout_forward(const Tensor& x, float p, uint64_t key, Tensor& y) { apply_mask(x, p, key, y); }
void dropout_backward(const Tensor& dy, float p, uint64_t key, Tensor& dx) { apply_mask(dy, p, key, dx); }

}  // namespace rosetta::kernels
