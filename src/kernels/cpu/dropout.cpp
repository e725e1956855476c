// Dropout: oneDNN 2.6 has no dropout primitive. The mask is a stateless hash
// of (key, element index): it does not depend on the thread count, and the
// backward recomputes it rather than keeping it in memory.
#include "kernels/kernels.h"
#include "rosetta/error.h"
#include "rosetta/tensor/random.h"

namespace rosetta::kernels {

namespace {

// One 64-bit hash decides four elements (16 bits each; the drop probability
// is p rounded to a multiple of 2^-16): the hash was most of dropout's time.
// Elements go in blocks of 64: element j of block b reads hash 16 b + j % 16,
// bits 16 (j / 16) up, so a block is four vector passes over 16 hashes.
constexpr int64_t kBlock = 64, kHashes = 16;

inline uint64_t block_hash(uint64_t mixed_key, int64_t block, int64_t j) {
  return mix64(mixed_key + static_cast<uint64_t>(block * kHashes + j % kHashes) * 0x9e3779b97f4a7c15ULL);
}

inline uint32_t bits16(uint64_t hash, int64_t j) {
  return static_cast<uint32_t>(hash >> (16 * (j / kHashes))) & 0xffffu;
}

void apply_mask(const Tensor& in, float p, uint64_t key, Tensor& out) {
  check(p >= 0.0f && p < 1.0f, "dropout probability must be in [0, 1), got ", p);
  check(in.is_contiguous() && out.is_contiguous() && in.shape() == out.shape(), "dropout shapes ",
        shape_text(in.shape()), ", ", shape_text(out.shape()));
  const float keep_scale = 1.0f / (1.0f - p);
  const int64_t n = in.numel();
  const float* x = in.data();
  float* y = out.data();
  const auto threshold = static_cast<uint32_t>(static_cast<double>(p) * 65536.0 + 0.5);  // dropped below it
  const uint64_t mixed_key = mix64(key);
  const int64_t blocks = n / kBlock;
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    uint64_t hashes[kHashes];
#pragma omp simd
    for (int64_t j = 0; j < kHashes; ++j) hashes[j] = block_hash(mixed_key, b, j);
    const float* xb = x + b * kBlock;
    float* yb = y + b * kBlock;
    for (int64_t lane = 0; lane < kBlock / kHashes; ++lane) {
#pragma omp simd
      for (int64_t j = 0; j < kHashes; ++j) {
        const int64_t e = lane * kHashes + j;
        yb[e] = bits16(hashes[j], e) < threshold ? 0.0f : xb[e] * keep_scale;
      }
    }
  }
  for (int64_t e = blocks * kBlock; e < n; ++e) {
    const int64_t j = e - blocks * kBlock;
    y[e] = bits16(block_hash(mixed_key, blocks, j), j) < threshold ? 0.0f : x[e] * keep_scale;
  }
}

}  // namespace

void dropout_forward(const Tensor& x, float p, uint64_t key, Tensor& y) { apply_mask(x, p, key, y); }
void dropout_backward(const Tensor& dy, float p, uint64_t key, Tensor& dx) { apply_mask(dy, p, key, dx); }

}  // namespace rosetta::kernels
