// A linear layer's output gradient as the operand of its two backward
// products, and its column sums (the bias gradient) in the same pass: each
// row is read once, summed while in cache, and in bf16 rounded into the
// operand. Before, the sums were a oneDNN product with a ones row (1 x R x C,
// ~20 GFLOP/s, a second read of the gradient).
#include <algorithm>

#include "kernels/cpu/group_sums.h"
#include "kernels/kernels.h"
#include "rosetta/error.h"

namespace rosetta::kernels {

MatmulOperand gradient_operand(const Tensor& g, Tensor& column_sums) {
  check(g.ndim() == 2 && g.is_contiguous(), "gradient_operand: a contiguous [R, C] gradient, got ",
        shape_text(g.shape()));
  const int64_t rows = g.dim(0), cols = g.dim(1);
  check(column_sums.numel() == cols && column_sums.is_contiguous(), "gradient_operand: column sums of ",
        column_sums.numel(), " values for ", cols, " columns");
  const bool bf16 = matmul_precision() == Precision::bf16;
  Tensor storage = bf16 ? Tensor::empty({(rows * cols + 1) / 2}) : Tensor();
  auto* out = bf16 ? reinterpret_cast<uint16_t*>(storage.data()) : nullptr;
  constexpr int64_t kGroupRows = 16;
  const int64_t groups = (rows + kGroupRows - 1) / kGroupRows;
  Tensor partial = Tensor::zeros({std::max<int64_t>(groups, 1) * cols});
  const float* gs = g.data();
#pragma omp parallel for schedule(static)
  for (int64_t grp = 0; grp < groups; ++grp) {
    float* sums = partial.data() + grp * cols;
    for (int64_t r = grp * kGroupRows; r < std::min(rows, (grp + 1) * kGroupRows); ++r) {
      const float* gr = gs + r * cols;
#pragma omp simd
      for (int64_t c = 0; c < cols; ++c) sums[c] += gr[c];
      if (bf16) round_to_bf16_serial(gr, out + r * cols, cols);
    }
  }
  add_group_sums(partial.data(), groups, cols, column_sums.data());
  if (!bf16) return MatmulOperand(g);
  return MatmulOperand::of_storage(std::move(storage), rows, cols, true);
}

}  // namespace rosetta::kernels
