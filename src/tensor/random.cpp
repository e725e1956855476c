#include "rosetta/tensor/random.h"

#include <cmath>

namespace rosetta {
namespace {

float to_unit(uint64_t bits) { return static_cast<float>(bits >> 40) * (1.0f / 16777216.0f); }

}  // namespace

uint64_t Rng::next_u64() {
  state_ += 0x9e3779b97f4a7c15ULL;
  return mix64(state_);
}

float Rng::uniform(float low, float high) { return low + (high - low) * to_unit(next_u64()); }

float Rng::normal(float mean, float stddev) {
  // Box-Muller; 1 - u keeps the log argument in (0, 1].
  const double u1 = 1.0 - static_cast<double>(to_unit(next_u64()));
  const double u2 = static_cast<double>(to_unit(next_u64()));
  const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  return mean + stddev * static_cast<float>(z);
}

}  // namespace rosetta
