#include "allocator.h"

#include <algorithm>
#include <cstdlib>
#include <malloc.h>

#include <list>
#include <map>
#include <mutex>
#include <new>

#include "rosetta/tensor/tensor.h"

namespace rosetta::detail {
namespace {

constexpr size_t kAlignment = 64;
// A cached block serves a request of at least this fraction of its size.
constexpr size_t kMaxWasteFactor = 2;
// Blocks this large come from mmap and go back to the system when freed.
// glibc would otherwise raise its threshold as large blocks are freed and
// keep them in a heap that only grows: +0.8 GB of resident memory in a
// training run, for nothing.
constexpr int kMmapThreshold = 256 << 10;
constexpr size_t kMinCachedBytes = size_t{64} << 20;

// Freed blocks kept for reuse, at most this many bytes (ROSETTA_TENSOR_CACHE_MB),
// and never more than the largest working set seen (a decoder needs far less
// than a training step). Past it the least recently freed go back to the
// system: batch shapes drift, and a block nobody asked for since is
// unlikely to fit again.
size_t max_cached_bytes() {
  static const size_t value = [] {
    const char* env = std::getenv("ROSETTA_TENSOR_CACHE_MB");
    return env ? static_cast<size_t>(std::max(0L, std::atol(env))) << 20 : size_t{768} << 20;
  }();
  return value;
}

struct Block {
  size_t bytes;
  void* ptr;
};

struct Cache {
  Cache() { mallopt(M_MMAP_THRESHOLD, kMmapThreshold); }
  std::mutex mutex;
  std::list<Block> by_age;                                      // oldest first
  std::multimap<size_t, std::list<Block>::iterator> by_size;  // best fit is lower_bound
  size_t cached_bytes = 0;
  size_t live_bytes = 0;
  size_t peak_live_bytes = 0;

  size_t cap() const { return std::min(max_cached_bytes(), std::max(kMinCachedBytes, peak_live_bytes)); }
  void take(std::multimap<size_t, std::list<Block>::iterator>::iterator it) {
    cached_bytes -= it->first;
    by_age.erase(it->second);
    by_size.erase(it);
  }
  void evict_oldest() {
    const Block oldest = by_age.front();
    auto [first, last] = by_size.equal_range(oldest.bytes);
    for (auto it = first; it != last; ++it) {
      if (it->second == by_age.begin()) {
        take(it);
        break;
      }
    }
    std::free(oldest.ptr);
  }
};

Cache& cache() {
  static Cache* instance = new Cache;  // never destroyed: tensors may outlive statics
  return *instance;
}

// Requests are rounded up to a size class: above 4 KiB, eight classes per
// power of two (at most 12.5% more than asked). Batch shapes drift a little
// every step; without classes a block freed by one step is often a few rows
// too small for the next, and the miss costs fresh pages from the system.
size_t rounded(size_t bytes) {
  constexpr size_t kSmall = 4096;
  if (bytes <= kSmall) return (bytes + kAlignment - 1) / kAlignment * kAlignment;
  size_t power = kSmall;
  while (power * 2 <= bytes) power *= 2;
  const size_t step = power / 8;
  return (bytes + step - 1) / step * step;
}

}  // namespace

// Batches change shape every step, so exact sizes rarely repeat: the
// smallest cached block that fits (and is at most twice the request) serves
// it. Its real size goes back to the caller, who hands it to deallocate.
void* allocate(size_t bytes, size_t& granted) {
  bytes = rounded(bytes == 0 ? 1 : bytes);
  Cache& c = cache();
  {
    std::lock_guard lock(c.mutex);
    auto it = c.by_size.lower_bound(bytes);
    if (it != c.by_size.end() && it->first <= kMaxWasteFactor * bytes) {
      granted = it->first;
      void* ptr = it->second->ptr;
      c.take(it);
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
  std::lock_guard lock(c.mutex);
  c.live_bytes -= granted;
  if (granted > c.cap()) {
    std::free(ptr);
    return;
  }
  c.by_age.push_back({granted, ptr});
  c.by_size.emplace(granted, std::prev(c.by_age.end()));
  c.cached_bytes += granted;
  while (c.cached_bytes > c.cap()) c.evict_oldest();
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
  while (!c.by_age.empty()) c.evict_oldest();
}

}  // namespace rosetta
