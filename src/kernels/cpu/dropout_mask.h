// The dropout mask: a stateless hash of (key, element index), shared by the
// dropout kernels and those that fuse dropout into a neighbour (the
// residual's layer norm), so a fused kernel drops the same elements.
#pragma once

#include <algorithm>
#include <cstdint>

#include "rosetta/error.h"
#include "rosetta/tensor/random.h"

namespace rosetta::kernels::dropout_mask {

// One 64-bit hash decides four elements (16 bits each; the drop probability
// is p rounded to a multiple of 2^-16): the hash was most of dropout's time.
// Elements go in blocks of 64: element j of block b reads hash 16 b + j % 16,
// bits 16 (j / 16) up, so a block is four vector passes over 16 hashes.
constexpr int64_t kBlock = 64, kHashes = 16;
// Work is split in pieces of whole blocks, so any split gives the same values.
constexpr int64_t kPiece = 4096;

struct Mask {
  Mask(float p, uint64_t key)
      : threshold(static_cast<uint32_t>(static_cast<double>(p) * 65536.0 + 0.5)),
        keep_scale(1.0f / (1.0f - p)),
        mixed_key(mix64(key)) {
    check(p >= 0.0f && p < 1.0f, "dropout probability must be in [0, 1), got ", p);
  }
  uint32_t threshold;  // dropped when the element's 16 bits fall below it
  float keep_scale;
  uint64_t mixed_key;
};

inline uint64_t block_hash(uint64_t mixed_key, int64_t block, int64_t j) {
  return mix64(mixed_key + static_cast<uint64_t>(block * kHashes + j % kHashes) * 0x9e3779b97f4a7c15ULL);
}

inline uint32_t bits16(uint64_t hash, int64_t j) {
  return static_cast<uint32_t>(hash >> (16 * (j / kHashes))) & 0xffffu;
}

// out[i] = x[i] masked and scaled, for elements begin .. begin + count - 1 of the stream.
inline void mask_range(const Mask& m, const float* __restrict x, int64_t begin, int64_t count, float* __restrict out) {
  // Locals, not loads through m: the stores to out could alias m, and the loops stayed scalar.
  const uint32_t threshold = m.threshold;
  const float keep_scale = m.keep_scale;
  const uint64_t mixed_key = m.mixed_key;
  const int64_t end = begin + count;
  for (int64_t b = begin / kBlock; b * kBlock < end; ++b) {
    uint64_t hashes[kHashes];
#pragma omp simd
    for (int64_t j = 0; j < kHashes; ++j) hashes[j] = block_hash(mixed_key, b, j);
    const int64_t first = b * kBlock;
    if (first >= begin && first + kBlock <= end) {  // a whole block: four vector passes
      const float* xb = x + (first - begin);
      float* ob = out + (first - begin);
      for (int64_t lane = 0; lane < kBlock / kHashes; ++lane) {
#pragma omp simd
        for (int64_t j = 0; j < kHashes; ++j) {
          const int64_t e = lane * kHashes + j;
          ob[e] = bits16(hashes[j], e) < threshold ? 0.0f : xb[e] * keep_scale;
        }
      }
      continue;
    }
    for (int64_t e = std::max(first, begin); e < std::min(first + kBlock, end); ++e) {
      const int64_t j = e - first;
      out[e - begin] = bits16(hashes[j % kHashes], j) < threshold ? 0.0f : x[e - begin] * keep_scale;
    }
  }
}

}  // namespace rosetta::kernels::dropout_mask
