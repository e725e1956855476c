// Label-smoothed cross-entropy on oneDNN's log-softmax. The forward needs
// only sums over each row of log-probabilities and keeps each row's
// log-sum-exp; the backward rebuilds the softmax from the logits with one
// oneDNN subtraction and exp, so no [N, V] tensor outlives the forward.
// Matches torch.nn.functional.cross_entropy(label_smoothing=eps,
// ignore_index=...): the smoothing mass spreads over all V classes.
#include <vector>

#include "kernels/kernels.h"
#include "rosetta/error.h"

namespace rosetta::kernels {

namespace {

void check_args(const Tensor& logits, const std::vector<int32_t>& targets, float smoothing) {
  check(logits.ndim() == 2 && logits.is_contiguous(), "cross_entropy needs contiguous [N, V] logits, got ",
        shape_text(logits.shape()));
  check(static_cast<int64_t>(targets.size()) == logits.dim(0), "cross_entropy: ", targets.size(),
        " targets for ", logits.dim(0), " rows");
  check(smoothing >= 0.0f && smoothing < 1.0f, "label smoothing must be in [0, 1), got ", smoothing);
}

}  // namespace

CrossEntropySums cross_entropy_forward(const Tensor& logits, const std::vector<int32_t>& targets,
                                       float smoothing, int32_t ignore_id, Tensor& logsumexp) {
  check_args(logits, targets, smoothing);
  const int64_t rows = logits.dim(0), vocab = logits.dim(1);
  for (int64_t r = 0; r < rows; ++r)
    check(targets[r] == ignore_id || (targets[r] >= 0 && targets[r] < vocab), "target id ",
          targets[r], " in row ", r, " is outside the vocabulary of ", vocab);
  Tensor log_probs = Tensor::empty(logits.shape());
  softmax_forward(logits, log_probs, true);
  const float* lp = log_probs.data();
  const float* x = logits.data();
  float* lse = logsumexp.data();
  // Per-row terms added in row order afterwards: the same sums for any thread
  // count and run (an OpenMP reduction adds in the order threads arrive).
  std::vector<double> row_loss(rows, 0.0), row_nll(rows, 0.0);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = lp + r * vocab;
    lse[r] = x[r * vocab] - row[0];  // log p = x - lse in every column
    if (targets[r] == ignore_id) continue;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t v = 0; v < vocab; ++v) sum += row[v];
    const double nll = -static_cast<double>(row[targets[r]]);
    const double smooth = -static_cast<double>(sum) / static_cast<double>(vocab);
    row_loss[r] = (1.0 - smoothing) * nll + smoothing * smooth;
    row_nll[r] = nll;
  }
  double total = 0.0, total_nll = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    total += row_loss[r];
    total_nll += row_nll[r];
  }
  return {total, total_nll};
}

void cross_entropy_backward(const Tensor& logits, const Tensor& logsumexp, const std::vector<int32_t>& targets,
                            float smoothing, int32_t ignore_id, float scale, Tensor& dlogits) {
  check_args(logits, targets, smoothing);
  check(dlogits.shape() == logits.shape() && dlogits.is_contiguous(), "cross_entropy backward shape ",
        shape_text(dlogits.shape()));
  const int64_t rows = logits.dim(0), vocab = logits.dim(1);
  binary(BinaryOp::sub, logits, logsumexp.view({rows, 1}), dlogits);
  exp(dlogits, dlogits);  // softmax
  float* g = dlogits.data();
  const float uniform = smoothing / static_cast<float>(vocab);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    float* out = g + r * vocab;
    if (targets[r] == ignore_id) {
      std::fill_n(out, vocab, 0.0f);
      continue;
    }
#pragma omp simd
    for (int64_t v = 0; v < vocab; ++v) out[v] = scale * (out[v] - uniform);
    out[targets[r]] -= scale * (1.0f - smoothing);
  }
}

}  // namespace rosetta::kernels
