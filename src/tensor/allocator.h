// 64-byte-aligned blocks, cached by size: a training step allocates the same
// shapes every step, so freed blocks are kept and handed out again instead of
// going back to malloc (whose large blocks are mmap'd and zeroed each time).
#pragma once

#include <cstddef>

namespace rosetta::detail {

void* allocate(size_t bytes);
void deallocate(void* ptr, size_t bytes);

}  // namespace rosetta::detail
