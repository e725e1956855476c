// Dropout: oneDNN 2.6 has no dropout primitive. The mask is a stateless hash
// of (key, element index): it does not depend on the thread count, and the
// backward recomputes it rather than keeping it in memory.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/dropout_mask.h"
#include "kernels/kernels.h"
#include "rosetta/error.h"
#include "rosetta/tensor/random.h"

namespace rosetta::kernels {

namespace {

using dropout_mask::Mask;
using dropout_mask::mask_range;
using dropout_mask::kPiece;

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
