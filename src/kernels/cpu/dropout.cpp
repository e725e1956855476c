// Dropout: oneDNN 2.6 has no dropout primitive. The mask is a stateless hash
// of (key, element index): it does not depend on the thread count, and the
// backward recomputes it rather than keeping it in memory.
#include <algorithm>
#include <cstring>
#include <vector>

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
void mask_range(const Mask& m, const float* __restrict x, int64_t begin, int64_t count, float* __restrict out) {
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

void apply_mask(const Tensor& in, float p, uint64_t key, Tensor& out) {
  const Mask m(p, key);
  check(in.is_contiguous() && out.is_contiguous() && in.shape() == out.shape(), "dropout shapes ",
        shape_text(in.shape()), ", ", shape_text(out.shape()));
  const int64_t n = in.numel();
  const int64_t pieces = (n + kPiece - 1) / kPiece;
  const float* x = in.data();
  float* y = out.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < pieces; ++i) {
    const int64_t begin = i * kPiece;
    mask_range(m, x + begin, begin, std::min(kPiece, n - begin), y + begin);
  }
}

// Writes count values (fp32, or bf16 at element `at` of a bf16 run) from buf.
void store(const float* buf, int64_t count, bool bf16, float* out_f32, uint16_t* out_bf16, int64_t at) {
  if (bf16) round_to_bf16_serial(buf, out_bf16 + at, count);
  else std::memcpy(out_f32 + at, buf, static_cast<size_t>(count) * sizeof(float));
}

void check_matrix(const Tensor& t, const char* what) {
  check(t.ndim() == 2 && t.is_contiguous(), what, " must be a contiguous matrix, got ", shape_text(t.shape()));
}

}  // namespace

void dropout_forward(const Tensor& x, float p, uint64_t key, Tensor& y) { apply_mask(x, p, key, y); }
void dropout_backward(const Tensor& dy, float p, uint64_t key, Tensor& dx) { apply_mask(dy, p, key, dx); }

MatmulOperand dropout_operand(const Tensor& h, float p, uint64_t key) {
  check_matrix(h, "dropout_operand input");
  if (p == 0.0f) return MatmulOperand(h);  // no copy in fp32 (decoding, validation)
  const Mask m(p, key);
  const bool bf16 = matmul_precision() == Precision::bf16;
  const int64_t n = h.numel();
  Tensor storage = Tensor::empty({bf16 ? (n + 1) / 2 : n});
  float* out_f32 = storage.data();
  auto* out_bf16 = reinterpret_cast<uint16_t*>(storage.data());
  const float* x = h.data();
  const int64_t pieces = (n + kPiece - 1) / kPiece;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < pieces; ++i) {
    const int64_t begin = i * kPiece, count = std::min(kPiece, n - begin);
    if (!bf16) {
      mask_range(m, x + begin, begin, count, out_f32 + begin);
      continue;
    }
    float buf[kPiece];
    mask_range(m, x + begin, begin, count, buf);
    round_to_bf16_serial(buf, out_bf16 + begin, count);
  }
  return MatmulOperand::of_storage(std::move(storage), h.dim(0), h.dim(1), bf16);
}

MatmulOperand relu_dropout_backward_operand(const Tensor& dz, const Tensor& h, float p, uint64_t key,
                                            Tensor& bias_grad) {
  check_matrix(dz, "relu_dropout_backward gradient");
  check(h.shape() == dz.shape() && h.is_contiguous(), "relu_dropout_backward: activations ", shape_text(h.shape()),
        " for a gradient ", shape_text(dz.shape()));
  check(bias_grad.numel() == dz.dim(1) && bias_grad.is_contiguous(), "relu_dropout_backward: bias gradient of ",
        bias_grad.numel(), " values for ", dz.dim(1), " columns");
  const Mask m(p, key);
  const bool bf16 = matmul_precision() == Precision::bf16;
  const int64_t rows = dz.dim(0), cols = dz.dim(1), n = dz.numel();
  Tensor storage = Tensor::empty({bf16 ? (n + 1) / 2 : n});
  float* out_f32 = storage.data();
  auto* out_bf16 = reinterpret_cast<uint16_t*>(storage.data());
  // Column sums per group of rows, added group by group afterwards: the same
  // for any thread count.
  constexpr int64_t kGroupRows = 16;
  constexpr int64_t kChunk = 1024;
  const int64_t groups = (rows + kGroupRows - 1) / kGroupRows;
  std::vector<float> partial(static_cast<size_t>(std::max<int64_t>(groups, 1) * cols), 0.0f);
  const float* g = dz.data();
  const float* y = h.data();
#pragma omp parallel for schedule(static)
  for (int64_t grp = 0; grp < groups; ++grp) {
    float* sums = partial.data() + grp * cols;
    float buf[kChunk];
    for (int64_t r = grp * kGroupRows; r < std::min(rows, (grp + 1) * kGroupRows); ++r) {
      for (int64_t c = 0; c < cols; c += kChunk) {
        const int64_t at = r * cols + c, count = std::min(kChunk, cols - c);
        if (p > 0.0f) mask_range(m, g + at, at, count, buf);
        else std::memcpy(buf, g + at, static_cast<size_t>(count) * sizeof(float));
        const float* yr = y + at;
        float* sr = sums + c;
#pragma omp simd
        for (int64_t i = 0; i < count; ++i) {
          buf[i] = yr[i] > 0.0f ? buf[i] : 0.0f;
          sr[i] += buf[i];
        }
        store(buf, count, bf16, out_f32, out_bf16, at);
      }
    }
  }
  float* db = bias_grad.data();
  std::fill_n(db, cols, 0.0f);
  for (int64_t grp = 0; grp < groups; ++grp) {
    const float* sums = partial.data() + grp * cols;
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) db[c] += sums[c];
  }
  return MatmulOperand::of_storage(std::move(storage), rows, cols, bf16);
}

}  // namespace rosetta::kernels
