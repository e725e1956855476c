// 64-byte-aligned blocks, cached: a training step allocates much the same
// sizes every step, so freed blocks are kept and handed out again instead of
// going back to the system (large blocks are mmap'd and zeroed each time).
// The cache is bounded (least recently freed evicted first) so resident
// memory stays near the largest working set.
#pragma once

#include <cstddef>

namespace rosetta::detail {

// granted receives the block's real size, to pass back to deallocate.
void* allocate(size_t bytes, size_t& granted);
void deallocate(void* ptr, size_t granted);

}  // namespace rosetta::detail
