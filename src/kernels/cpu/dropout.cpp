// Dropout: oneDNN 2.6 has no dropout primitive. The mask is a stateless hash
// of (key, element index): it does not depend on the thread count, and the
// backward recomputes it rather than keeping it in memory.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/dropout_mask.h"
#include "kernels/cpu/group_sums.h"
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

// bf16 bit patterns to the floats they stand for (exact).
void widen_bf16(const uint16_t* src, float* dst, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t bits = static_cast<uint32_t>(src[i]) << 16;
    std::memcpy(dst + i, &bits, sizeof bits);
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

void dropout_operand(MatmulOperand& z, float p, uint64_t key) {
  check(z.ndim() == 2 && z.strides()[0] == z.dim(1) && z.strides()[1] == 1, "dropout_operand: a plain matrix, got ",
        shape_text(z.shape()));
  if (p == 0.0f) return;
  const Mask m(p, key);
  const bool bf16 = z.is_bf16();
  const int64_t n = z.dim(0) * z.dim(1);
  auto* z_f32 = static_cast<float*>(z.data());
  auto* z_bf16 = static_cast<uint16_t*>(z.data());
  const int64_t pieces = (n + kPiece - 1) / kPiece;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < pieces; ++i) {
    const int64_t begin = i * kPiece, count = std::min(kPiece, n - begin);
    float widened[kPiece], out[kPiece];
    if (bf16) widen_bf16(z_bf16 + begin, widened, count);
    mask_range(m, bf16 ? widened : z_f32 + begin, begin, count, out);
    store(out, count, bf16, z_f32, z_bf16, begin);
  }
}

MatmulOperand relu_dropout_backward_operand(const Tensor& dz, const MatmulOperand& z, float p, Tensor& bias_grad) {
  check_matrix(dz, "relu_dropout_backward gradient");
  check(z.shape() == dz.shape() && z.strides()[0] == z.dim(1), "relu_dropout_backward: activations ",
        shape_text(z.shape()), " for a gradient ", shape_text(dz.shape()));
  check(bias_grad.numel() == dz.dim(1) && bias_grad.is_contiguous(), "relu_dropout_backward: bias gradient of ",
        bias_grad.numel(), " values for ", dz.dim(1), " columns");
  check(p >= 0.0f && p < 1.0f, "dropout probability must be in [0, 1), got ", p);
  // A kept unit is where z > 0: dropout zeroes the rest, the ReLU the
  // negative ones, and neither rounding nor the 1 / (1 - p) scale changes a sign.
  const float keep_scale = 1.0f / (1.0f - p);
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
  Tensor partial = Tensor::zeros({std::max<int64_t>(groups, 1) * cols});  // cached: no fresh pages each call
  const float* g = dz.data();
  const auto* z_f32 = static_cast<const float*>(z.data());
  const auto* z_bf16 = static_cast<const uint16_t*>(z.data());
#pragma omp parallel for schedule(static)
  for (int64_t grp = 0; grp < groups; ++grp) {
    float* sums = partial.data() + grp * cols;
    float buf[kChunk], kept[kChunk];
    for (int64_t r = grp * kGroupRows; r < std::min(rows, (grp + 1) * kGroupRows); ++r) {
      for (int64_t c = 0; c < cols; c += kChunk) {
        const int64_t at = r * cols + c, count = std::min(kChunk, cols - c);
        if (z.is_bf16()) widen_bf16(z_bf16 + at, kept, count);
        else std::memcpy(kept, z_f32 + at, static_cast<size_t>(count) * sizeof(float));
        const float* gr = g + at;
        float* sr = sums + c;
#pragma omp simd
        for (int64_t i = 0; i < count; ++i) {  // keep_scale is 1 without dropout: the product is exact
          buf[i] = kept[i] > 0.0f ? gr[i] * keep_scale : 0.0f;
          sr[i] += buf[i];
        }
        store(buf, count, bf16, out_f32, out_bf16, at);
      }
    }
  }
  add_group_sums(partial.data(), groups, cols, bias_grad.data());
  return MatmulOperand::of_storage(std::move(storage), rows, cols, bf16);
}

}  // namespace rosetta::kernels
