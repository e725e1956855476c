// What the engine holds: tensor memory in use and cached, the number of
// cached oneDNN primitives, and the arithmetic its products have done. For
// logs, memory investigations and GFLOP/s.
#pragma once

#include <cstdint>

namespace rosetta {

struct EngineStats {
  int64_t live_tensor_bytes = 0, cached_tensor_bytes = 0, peak_tensor_bytes = 0;
  int64_t cached_primitives = 0, created_primitives = 0;
  double primitive_seconds = 0;  // spent making the primitives
  int64_t product_flops = 0;     // of every matrix product so far (2 M N K each)
};

EngineStats engine_stats();
// EngineStats::product_flops alone (one counter read, for every training step).
int64_t product_flops();

// Lets the primitive cache hold at least this many primitives (unless
// ROSETTA_PRIMITIVE_CACHE sets the count). Translation wants it: its decoder
// meets a new row count whenever sentences finish, some 1,600 small
// primitives for 1,000 sentences, against 256 by default.
void reserve_primitive_cache(int64_t primitives);

}  // namespace rosetta
