// Hashes that name things on disk and in checkpoints: XXH3-64 (libxxhash),
// the same value on every machine, compiler and run (std::hash promises
// none of that).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace rosetta {

uint64_t stable_hash(std::string_view bytes);
std::string stable_hash_hex(std::string_view bytes);  // 16 hex digits

// The same hash over bytes given piece by piece.
class StableHasher {
 public:
  StableHasher();
  ~StableHasher();
  StableHasher(const StableHasher&) = delete;
  StableHasher& operator=(const StableHasher&) = delete;
  void add(const void* data, size_t bytes);
  void add(std::string_view bytes) { add(bytes.data(), bytes.size()); }
  uint64_t value() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string hex64(uint64_t value);

}  // namespace rosetta
