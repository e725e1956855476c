// fp32 -> bf16 rounding (to nearest, ties to even; NaN stays NaN), the way
// into every bf16 matmul. A hand-written loop because it covers a view's
// storage as one flat run: oneDNN's reorder walks the view's strides, which
// for the transposed operands of a backward ran at a fraction of memory speed.
#include <cstring>

#include "kernels/kernels.h"

namespace rosetta::kernels {

void round_to_bf16(const float* src, uint16_t* dst, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &src[i], sizeof(bits));
    const bool nan = (bits & 0x7fffffffu) > 0x7f800000u;
    const uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
    dst[i] = static_cast<uint16_t>(nan ? (bits >> 16) | 0x40u : rounded);
  }
}

}  // namespace rosetta::kernels
