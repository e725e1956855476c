// Hashes that name things on disk and in checkpoints: XXH3-64 (libxxhash),
// the same value on every machine, compiler and run (std::hash promises
// none of that); and the CRC-32 that checks what we read back.
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

// zlib's CRC-32 over bytes given piece by piece: the checksum that ends our
// checkpoints and corpus caches.
class Crc32 {
 public:
  void add(const void* data, size_t bytes);
  uint32_t value() const { return value_; }

 private:
  uint32_t value_ = 0;  // the CRC-32 of no bytes
};

}  // namespace rosetta
