// One seeded generator, passed explicitly: the same seed gives the same
// initialisation, dropout masks and shuffles. Its state is a few integers so
// a checkpoint can save and restore it exactly.
#pragma once

#include <cstdint>

namespace rosetta {

class Rng {
 public:
  explicit Rng(uint64_t seed = 1) : state_(seed) {}

  uint64_t next_u64();                         // splitmix64
  float uniform(float low = 0.0f, float high = 1.0f);
  float normal(float mean = 0.0f, float stddev = 1.0f);

  uint64_t state() const { return state_; }
  void set_state(uint64_t state) { state_ = state; }

 private:
  uint64_t state_;
};

// Stateless hashing of (key, counter): dropout draws one key per call and
// hashes element indices, so masks are identical for any thread count.
// Inline so the dropout loop vectorises.
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace rosetta
