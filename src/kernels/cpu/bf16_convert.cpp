// fp32 -> bf16 rounding (to nearest, ties to even; NaN stays NaN), the way
// into every bf16 matmul. A hand-written loop because it covers a view's
// storage as one flat run: oneDNN's reorder walks the view's strides, which
// for the transposed operands of a backward ran at a fraction of memory speed.
#include <algorithm>
#include <cstring>

#ifdef __AVX512BF16__
#include <immintrin.h>
#endif

#include "kernels/kernels.h"

namespace rosetta::kernels {

namespace {

void round_portably(const float* src, uint16_t* dst, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &src[i], sizeof(bits));
    const bool nan = (bits & 0x7fffffffu) > 0x7f800000u;
    const uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
    dst[i] = static_cast<uint16_t>(nan ? (bits >> 16) | 0x40u : rounded);
  }
}

}  // namespace

void round_to_bf16_serial(const float* src, uint16_t* dst, int64_t n) {
#ifdef __AVX512BF16__
  // The CPU's own rounding instruction (1.5x the portable loop here); subnormal inputs become zero.
  const int64_t blocks = n / 16;
  for (int64_t b = 0; b < blocks; ++b) {
    const __m256bh h = _mm512_cvtneps_pbh(_mm512_loadu_ps(src + 16 * b));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 16 * b), reinterpret_cast<const __m256i&>(h));
  }
  round_portably(src + 16 * blocks, dst + 16 * blocks, n - 16 * blocks);
#else
  round_portably(src, dst, n);
#endif
}

void round_to_bf16(const float* src, uint16_t* dst, int64_t n) {
  // Pieces of 4,096 values (a multiple of 16), so the parallel rounding equals the serial one.
  constexpr int64_t kPiece = 4096;
  const int64_t pieces = (n + kPiece - 1) / kPiece;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < pieces; ++i) {
    const int64_t begin = i * kPiece;
    round_to_bf16_serial(src + begin, dst + begin, std::min(kPiece, n - begin));
  }
}

}  // namespace rosetta::kernels
