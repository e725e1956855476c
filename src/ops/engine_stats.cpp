#include "rosetta/ops/engine_stats.h"

#include <algorithm>

#include "kernels/kernels.h"
#include "rosetta/tensor/tensor.h"

namespace rosetta {

EngineStats engine_stats() {
  const AllocatorStats a = allocator_stats();
  return {a.live_bytes, a.cached_bytes, a.peak_live_bytes, static_cast<int64_t>(kernels::primitive_cache_size()),
          static_cast<int64_t>(kernels::primitives_created()), kernels::primitive_creation_seconds(),
          product_flops()};
}

int64_t product_flops() { return static_cast<int64_t>(kernels::product_flops()); }

void reserve_primitive_cache(int64_t primitives) {
  kernels::reserve_primitive_cache(static_cast<size_t>(std::max<int64_t>(0, primitives)));
}

}  // namespace rosetta
