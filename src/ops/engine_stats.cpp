#include "rosetta/ops/engine_stats.h"

#include "kernels/kernels.h"
#include "rosetta/tensor/tensor.h"

namespace rosetta {

EngineStats engine_stats() {
  const AllocatorStats a = allocator_stats();
  return {a.live_bytes, a.cached_bytes, a.peak_live_bytes, static_cast<int64_t>(kernels::primitive_cache_size())};
}

}  // namespace rosetta
