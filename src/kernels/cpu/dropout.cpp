// Dropout: oneDNN 2.6 has no dropout primitive. The mask comes from a
// stateless hash of (key, element index), so it does not depend on the
// thread count.
#include "kernels/kernels.h"
#include "rosetta/error.h"
#include "rosetta/tensor/random.h"

namespace rosetta::kernels {

void dropout_forward(const Tensor& x, float p, uint64_t key, Tensor& y, Tensor& mask) {
  check(p >= 0.0f && p < 1.0f, "dropout probability must be in [0, 1), got ", p);
  check(x.is_contiguous() && x.shape() == y.shape() && x.shape() == mask.shape(),
        "dropout shapes ", to_string(x.shape()), ", ", to_string(y.shape()));
  const float keep_scale = 1.0f / (1.0f - p);
  const int64_t n = x.numel();
  const float* in = x.data();
  float* out = y.data();
  float* m = mask.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    m[i] = hash_uniform(key, static_cast<uint64_t>(i)) < p ? 0.0f : keep_scale;
    out[i] = in[i] * m[i];
  }
}

}  // namespace rosetta::kernels
