#include "allocator.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>

#include "rosetta/tensor/tensor.h"

namespace rosetta::detail {
namespace {

constexpr size_t kAlignment = 64;
// Freed blocks kept for reuse, at most this many bytes; past it they go back
// to the system. A training step's working set fits many times over.
constexpr size_t kMaxCachedBytes = size_t{512} << 20;
// A cached block serves a request of at least this fraction of its size.
constexpr size_t kMaxWasteFactor = 2;

struct Cache {
  std::mutex mutex;
  std::multimap<size_t, void*> free_blocks;  // by size: best fit is lower_bound
  size_t cached_bytes = 0;
  size_t live_bytes = 0;
  size_t peak_live_bytes = 0;
};

Cache& cache() {
  static Cache* instance = new Cache;  // never destroyed: tensors may outlive statics
  return *instance;
}

size_t rounded(size_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

}  // namespace

// Batches change shape every step, so exact sizes rarely repeat: the
// smallest cached block that fits (and is at most twice the request) serves
// it. Its real size goes back to the caller, who hands it to deallocate.
void* allocate(size_t bytes, size_t& granted) {
  bytes = rounded(bytes == 0 ? 1 : bytes);
  Cache& c = cache();
  {
    std::lock_guard lock(c.mutex);
    auto it = c.free_blocks.lower_bound(bytes);
    if (it != c.free_blocks.end() && it->first <= kMaxWasteFactor * bytes) {
      granted = it->first;
      void* ptr = it->second;
      c.free_blocks.erase(it);
      c.cached_bytes -= granted;
      c.live_bytes += granted;
      c.peak_live_bytes = std::max(c.peak_live_bytes, c.live_bytes);
      return ptr;
    }
    c.live_bytes += bytes;
    c.peak_live_bytes = std::max(c.peak_live_bytes, c.live_bytes);
  }
  void* ptr = std::aligned_alloc(kAlignment, bytes);
  if (ptr == nullptr) throw std::bad_alloc();
  granted = bytes;
  return ptr;
}

void deallocate(void* ptr, size_t granted) {
  Cache& c = cache();
  {
    std::lock_guard lock(c.mutex);
    c.live_bytes -= granted;
    if (c.cached_bytes + granted <= kMaxCachedBytes) {
      c.free_blocks.emplace(granted, ptr);
      c.cached_bytes += granted;
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
  return {static_cast<int64_t>(c.live_bytes), static_cast<int64_t>(c.cached_bytes),
          static_cast<int64_t>(c.peak_live_bytes)};
}

void release_cached_memory() {
  auto& c = detail::cache();
  std::lock_guard lock(c.mutex);
  for (auto& [bytes, ptr] : c.free_blocks) std::free(ptr);
  c.free_blocks.clear();
  c.cached_bytes = 0;
}

}  // namespace rosetta
