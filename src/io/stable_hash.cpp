#include "rosetta/io/stable_hash.h"

#include <xxhash.h>
#include <zlib.h>

#include <cstdio>

#include "rosetta/error.h"

namespace rosetta {

struct StableHasher::State {
  XXH3_state_t* xxh = XXH3_createState();
  ~State() { XXH3_freeState(xxh); }
};

StableHasher::StableHasher() : state_(std::make_unique<State>()) {
  check(state_->xxh != nullptr && XXH3_64bits_reset(state_->xxh) == XXH_OK, "cannot start a hash");
}

StableHasher::~StableHasher() = default;

void StableHasher::add(const void* data, size_t bytes) {
  check(XXH3_64bits_update(state_->xxh, data, bytes) == XXH_OK, "hash update failed");
}

uint64_t StableHasher::value() const { return XXH3_64bits_digest(state_->xxh); }

uint64_t stable_hash(std::string_view bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

std::string hex64(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(value));
  return text;
}

std::string stable_hash_hex(std::string_view bytes) { return hex64(stable_hash(bytes)); }

void Crc32::add(const void* data, size_t bytes) {
  value_ = static_cast<uint32_t>(crc32_z(value_, static_cast<const Bytef*>(data), bytes));
}

}  // namespace rosetta
