// exp(x) for x <= 0 in plain arithmetic that the compiler vectorizes inside
// `omp simd` loops (glibc's vector exp is declared only under -ffast-math):
// x = n ln2 + r with |r| <= ln2/2, e^r by its Taylor polynomial to r^7
// (truncation under 2e-9 relative), times 2^n built in the exponent bits.
// Within 2 ulp of std::exp; inputs under -87 give 0 (no subnormals), which a
// softmax over a row that holds its largest value at 0 never needs.
#pragma once

#include <cstdint>
#include <cstring>

namespace rosetta::kernels {

#pragma omp declare simd notinbranch
inline float exp_nonpositive(float x) {
  x = x < -87.0f ? -87.0f : x;
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float shifted = x * kLog2e + kRound;
  const float n = shifted - kRound;
  // ln 2 in two parts: n * kLn2Hi is exact for |n| < 2^9.
  const float r = (x - n * 0.693145751953125f) - n * 1.428606765330187045e-06f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t shifted_bits;
  std::memcpy(&shifted_bits, &shifted, sizeof shifted_bits);
  int32_t round_bits;
  std::memcpy(&round_bits, &kRound, sizeof round_bits);
  const int32_t scale_bits = (shifted_bits - round_bits + 127) << 23;  // 2^n, n in [-126, 0]
  float scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  return p * scale;
}

}  // namespace rosetta::kernels
