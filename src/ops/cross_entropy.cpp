// Label-smoothed cross-entropy with an ignored (padding) target; averaged
// over the rows that count.
#include <algorithm>
#include <cstdint>
#include <span>

#include "kernels/kernels.h"
#include "ops/product.h"
#include "rosetta/error.h"
#include "rosetta/ops/ops.h"

namespace rosetta::ops {

namespace {

// Rows of logits a chunk of the fused op holds: 256 x an 8k vocabulary is
// 8 MB, which stays in cache between the product, the loss and gradient
// (one sweep a row), the rounding and the input's gradient product instead
// of going to memory each time.
constexpr int64_t kRowsPerChunk = 256;
// The logits' gradients kept for one weight-gradient product: a batch of
// 4,096 rows x an 8k vocabulary in bf16.
constexpr int64_t kGroupBytes = int64_t{64} << 20;

// Targets that count (not ignore_id); the loss is their mean.
int64_t counted_targets(const std::vector<int32_t>& targets, int32_t ignore_id, const char* op) {
  int64_t counted = 0;
  for (int32_t t : targets) counted += t != ignore_id;
  check(counted > 0, op, ": every target is the ignored id ", ignore_id);
  return counted;
}

}  // namespace

Var cross_entropy(const Var& logits, const std::vector<int32_t>& targets, float smoothing,
                  int32_t ignore_id, double* nll) {
  const Tensor x = kernels::contiguous(logits.value());
  check(x.ndim() == 2, "cross_entropy needs [N, V] logits, got ", shape_text(x.shape()));
  const int64_t counted = counted_targets(targets, ignore_id, "cross_entropy");
  Tensor probs = Tensor::empty(x.shape());
  const auto sums = kernels::cross_entropy_forward(x, targets, smoothing, ignore_id, probs);
  if (nll) *nll = sums.nll / static_cast<double>(counted);
  const float inv_count = 1.0f / static_cast<float>(counted);
  Tensor loss = Tensor::scalar(static_cast<float>(sums.loss / static_cast<double>(counted)));
  // The backward needs only the probabilities, and turns them into the gradient where they lie.
  return Var::from_op(loss, {logits},
                      [logits = logits.sink(), probs, targets, smoothing, ignore_id, inv_count](const Tensor& g) mutable {
                        kernels::cross_entropy_backward(probs, targets, smoothing, ignore_id, g.item() * inv_count);
                        logits.accumulate_grad(std::move(probs));
                      });
}

Var linear_cross_entropy(const Var& hidden, const Var& weight, const Var& bias, const std::vector<int32_t>& targets,
                         float smoothing, int32_t ignore_id, double* nll) {
  const Tensor x = kernels::contiguous(hidden.value());
  check(x.ndim() == 2 && weight.value().ndim() == 2 && x.dim(1) == weight.value().dim(1),
        "linear_cross_entropy needs hidden [N, D] and weight [V, D], got ", shape_text(x.shape()), " and ",
        shape_text(weight.shape()));
  const int64_t rows = x.dim(0), vocab = weight.value().dim(0);
  check(static_cast<int64_t>(targets.size()) == rows, "linear_cross_entropy: ", targets.size(), " targets for ", rows,
        " rows");
  check(!bias.defined() || (bias.value().ndim() == 1 && bias.value().dim(0) == vocab), "linear_cross_entropy: bias ",
        shape_text(bias.defined() ? bias.shape() : Shape{}), " does not fit ", vocab, " classes");
  const int64_t counted = counted_targets(targets, ignore_id, "linear_cross_entropy");
  const float inv_count = 1.0f / static_cast<float>(counted);
  const bool want_grad = grad_enabled() && (hidden.requires_grad() || weight.requires_grad() ||
                                            (bias.defined() && bias.requires_grad()));

  // The gradients are computed here, chunk by chunk, for a loss scale of 1;
  // the backward only scales them by the incoming gradient.
  const auto wt = kernels::MatmulOperand::transposed_weights({weight.value()});  // [D, V]
  Tensor dx, dw, db;
  if (want_grad) {
    dx = Tensor::empty(x.shape());
    dw = Tensor::empty(weight.shape());
    if (bias.defined()) db = Tensor::zeros({1, vocab});
  }
  // The logits' gradients of a group of chunks are kept, in the products'
  // precision, for one weight-gradient product a group: 16 products of 256
  // rows, each adding into the [V, D] gradient, cost 1.07-1.10x the op's
  // time at multi30k-small's shapes. A group holds at most kGroupBytes.
  const bool bf16 = kernels::matmul_precision() == kernels::Precision::bf16;
  const int64_t row_stride = bf16 ? (vocab + 1) / 2 * 2 : vocab;  // each bf16 row starts on a float
  const int64_t row_floats = bf16 ? row_stride / 2 : vocab;
  const int64_t group_rows =
      std::min(rows, std::max<int64_t>(1, kGroupBytes / (row_floats * 4) / kRowsPerChunk) * kRowsPerChunk);
  Tensor group = want_grad ? Tensor::empty({group_rows * row_floats}) : Tensor();
  Tensor buffer = bf16 || !want_grad ? Tensor::empty({std::min(rows, kRowsPerChunk), vocab}) : Tensor();
  kernels::CrossEntropySums sums;
  for (int64_t start = 0; start < rows; start += kRowsPerChunk) {
    const int64_t n = std::min(kRowsPerChunk, rows - start);
    const int64_t in_group = start % group_rows;  // the chunk's first row in the group
    // In fp32 the chunk's logits become its gradient where the group keeps it.
    Tensor logits = buffer.defined() ? buffer.narrow(0, 0, n)
                                     : group.narrow(0, in_group * vocab, n * vocab).view({n, vocab});
    const kernels::MatmulOperand xc = detail::rows_operand(hidden, start, n);
    kernels::matmul(xc, wt, logits, {.bias = bias.defined() ? &bias.value() : nullptr});
    const std::span<const int32_t> chunk_targets(targets.data() + start, static_cast<size_t>(n));
    // In bf16 the gradient's rounded rows go straight into the group, each as it is made.
    Tensor rounded = want_grad && bf16 ? group.narrow(0, in_group * row_floats, n * row_floats) : Tensor();
    const auto chunk =
        want_grad ? kernels::cross_entropy_gradient(logits, chunk_targets, smoothing, ignore_id, inv_count,
                                                    bf16 ? reinterpret_cast<uint16_t*>(rounded.data()) : nullptr,
                                                    row_stride)
                  : kernels::cross_entropy_loss(logits, chunk_targets, smoothing, ignore_id);
    sums.loss += chunk.loss;
    sums.nll += chunk.nll;
    if (!want_grad) continue;
    const kernels::MatmulOperand g = bf16 ? kernels::MatmulOperand::of_storage(rounded, n, vocab, true, row_stride)
                                          : kernels::MatmulOperand(logits);  // [n, V]
    Tensor dx_rows = dx.narrow(0, start, n);
    kernels::matmul(g, wt.transposed(), dx_rows);
    if (db.defined()) {
      Tensor chunk_db = Tensor::empty({1, vocab});
      kernels::reduce_sum(logits, chunk_db);
      kernels::binary(kernels::BinaryOp::add, db, chunk_db, db);
    }
    const int64_t group_start = start - in_group, kept = in_group + n;
    if (kept == group_rows || start + n == rows) {  // the group is full, or the last
      const auto grads = kernels::MatmulOperand::of_storage(group.narrow(0, 0, kept * row_floats), kept, vocab, bf16,
                                                            row_stride);
      kernels::matmul(grads.transposed(), detail::rows_operand(hidden, group_start, kept), dw,
                      {.accumulate = group_start > 0});
    }
  }
  if (nll) *nll = sums.nll / static_cast<double>(counted);
  Tensor loss = Tensor::scalar(static_cast<float>(sums.loss / static_cast<double>(counted)));
  if (!want_grad) return Var(loss);
  return Var::from_op(loss, {hidden, weight, bias},
                      [hidden = hidden.sink(), weight = weight.sink(), bias = bias.sink(), dx, dw,
                       db](const Tensor& g) mutable {
                        const float scale = g.item();
                        for (Tensor* t : {&dx, &dw, &db})
                          if (t->defined() && scale != 1.0f) kernels::affine(*t, scale, 0.0f, *t);
                        if (hidden.requires_grad()) hidden.accumulate_grad(std::move(dx));
                        if (weight.requires_grad()) weight.accumulate_grad(std::move(dw));
                        if (db.defined() && bias.requires_grad()) bias.accumulate_grad(db.view({db.dim(1)}));
                      });
}

std::vector<float> token_log_probabilities(const Tensor& logits, const std::vector<int32_t>& tokens) {
  std::vector<float> out(tokens.size());
  kernels::token_log_probabilities(kernels::contiguous(logits), tokens, out);
  return out;
}

}  // namespace rosetta::ops
