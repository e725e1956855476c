// What the engine holds: tensor memory in use and cached, and the number of
// cached oneDNN primitives. For logs and memory investigations.
#pragma once

#include <cstdint>

namespace rosetta {

struct EngineStats {
  int64_t live_tensor_bytes = 0, cached_tensor_bytes = 0, peak_tensor_bytes = 0;
  int64_t cached_primitives = 0;
};

EngineStats engine_stats();

}  // namespace rosetta
