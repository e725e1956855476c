#include "allocator.h"

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "rosetta/tensor/tensor.h"

namespace rosetta::detail {
namespace {

constexpr size_t kAlignment = 64;
// Past this, freed blocks go back to the system instead of the cache.
constexpr size_t kMaxCachedBytes = size_t{4} << 30;

struct Cache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;
  size_t cached_bytes = 0;
  size_t live_bytes = 0;
};

Cache& cache() {
  static Cache* instance = new Cache;  // never destroyed: tensors may outlive statics
  return *instance;
}

// Size classes: batches change shape every step, so exact sizes rarely
// repeat. Rounding up to the next of 8 steps per power of two (at most 12.5%
// waste) lets a freed block serve the next step's slightly different shape.
size_t rounded(size_t bytes) {
  bytes = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  if (bytes <= 8 * kAlignment) return bytes;
  size_t power = 1;
  while (power * 2 <= bytes) power *= 2;
  const size_t step = power / 8;
  return (bytes + step - 1) / step * step;
}

}  // namespace

void* allocate(size_t bytes) {
  bytes = rounded(bytes == 0 ? 1 : bytes);
  Cache& c = cache();
  {
    std::lock_guard lock(c.mutex);
    c.live_bytes += bytes;
    auto it = c.free_blocks.find(bytes);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* ptr = it->second.back();
      it->second.pop_back();
      c.cached_bytes -= bytes;
      return ptr;
    }
  }
  void* ptr = std::aligned_alloc(kAlignment, bytes);
  if (ptr == nullptr) throw std::bad_alloc();
  return ptr;
}

void deallocate(void* ptr, size_t bytes) {
  bytes = rounded(bytes == 0 ? 1 : bytes);
  Cache& c = cache();
  {
    std::lock_guard lock(c.mutex);
    c.live_bytes -= bytes;
    if (c.cached_bytes + bytes <= kMaxCachedBytes) {
      c.free_blocks[bytes].push_back(ptr);
      c.cached_bytes += bytes;
      return;
    }
  }
  std::free(ptr);
}

}  // namespace rosetta::detail

namespace rosetta {

AllocatorStats allocator_stats() {
  auto& c = detail::cache();
  std::lock_guard lock(c.mutex);
  return {static_cast<int64_t>(c.live_bytes), static_cast<int64_t>(c.cached_bytes)};
}

void release_cached_memory() {
  auto& c = detail::cache();
  std::lock_guard lock(c.mutex);
  for (auto& [bytes, blocks] : c.free_blocks)
    for (void* ptr : blocks) std::free(ptr);
  c.free_blocks.clear();
  c.cached_bytes = 0;
}

}  // namespace rosetta
