// The vectorizable exp against the C library's, in units in the last place.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/vector_exp.h"

namespace rosetta::kernels {
namespace {

int64_t ulps_apart(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, sizeof ia);
  std::memcpy(&ib, &b, sizeof ib);
  return std::abs(static_cast<int64_t>(ia) - static_cast<int64_t>(ib));
}

TEST(VectorExp, WithinTwoUlpsOfTheLibraryOnItsDomain) {
  int64_t worst = 0;
  float worst_at = 0;
  // 2^20 points over [-87, 0], and the ends of the reduction intervals.
  for (int i = 0; i <= (1 << 20); ++i) {
    const float x = -87.0f * static_cast<float>(i) / static_cast<float>(1 << 20);
    const int64_t d = ulps_apart(exp_nonpositive(x), static_cast<float>(std::exp(static_cast<double>(x))));
    if (d > worst) worst = d, worst_at = x;
  }
  for (int n = 0; n < 125; ++n) {
    const float x = -(static_cast<float>(n) + 0.5f) * 0.69314718f;
    worst = std::max(worst, ulps_apart(exp_nonpositive(x), static_cast<float>(std::exp(static_cast<double>(x)))));
  }
  EXPECT_LE(worst, 2) << "at x = " << worst_at;
  EXPECT_EQ(exp_nonpositive(0.0f), 1.0f);
  EXPECT_EQ(exp_nonpositive(-1000.0f), exp_nonpositive(-87.0f));  // clamped, never a subnormal
  EXPECT_GT(exp_nonpositive(-87.0f), 0.0f);
}

}  // namespace
}  // namespace rosetta::kernels
