// Label-smoothed cross-entropy fused with its log-softmax: one pass for the
// row maximum and log-sum-exp, so no [N, V] probability matrix is stored.
// Matches torch.nn.functional.cross_entropy(label_smoothing=eps,
// ignore_index=...): the smoothing mass spreads over all V classes.
#include <cmath>

#include "kernels/kernels.h"
#include "rosetta/error.h"

namespace rosetta::kernels {

namespace {

void check_args(const Tensor& logits, const std::vector<int32_t>& targets, float smoothing) {
  check(logits.ndim() == 2 && logits.is_contiguous(), "cross_entropy needs contiguous [N, V] logits, got ",
        to_string(logits.shape()));
  check(static_cast<int64_t>(targets.size()) == logits.dim(0), "cross_entropy: ", targets.size(),
        " targets for ", logits.dim(0), " rows");
  check(smoothing >= 0.0f && smoothing < 1.0f, "label smoothing must be in [0, 1), got ",
        smoothing);
}

}  // namespace

double cross_entropy_forward(const Tensor& logits, const std::vector<int32_t>& targets,
                             float smoothing, int32_t ignore_id, Tensor& logsumexp) {
  check_args(logits, targets, smoothing);
  const int64_t rows = logits.dim(0), vocab = logits.dim(1);
  for (int64_t r = 0; r < rows; ++r)
    check(targets[r] == ignore_id || (targets[r] >= 0 && targets[r] < vocab), "target id ",
          targets[r], " in row ", r, " is outside the vocabulary of ", vocab);
  const float* x = logits.data();
  float* lse = logsumexp.data();
  double total = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : total)
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * vocab;
    float max = row[0];
    for (int64_t v = 1; v < vocab; ++v) max = std::max(max, row[v]);
    double sum_exp = 0.0, sum_logits = 0.0;
    for (int64_t v = 0; v < vocab; ++v) {
      sum_exp += std::exp(static_cast<double>(row[v] - max));
      sum_logits += row[v];
    }
    const double log_z = max + std::log(sum_exp);
    lse[r] = static_cast<float>(log_z);
    if (targets[r] == ignore_id) continue;
    const double nll = log_z - row[targets[r]];
    const double smooth = log_z - sum_logits / static_cast<double>(vocab);
    total += (1.0 - smoothing) * nll + smoothing * smooth;
  }
  return total;
}

void cross_entropy_backward(const Tensor& logits, const std::vector<int32_t>& targets,
                            float smoothing, int32_t ignore_id, const Tensor& logsumexp,
                            float scale, Tensor& dlogits) {
  check_args(logits, targets, smoothing);
  check(dlogits.shape() == logits.shape() && dlogits.is_contiguous(),
        "cross_entropy backward shape ", to_string(dlogits.shape()));
  const int64_t rows = logits.dim(0), vocab = logits.dim(1);
  const float* x = logits.data();
  const float* lse = logsumexp.data();
  float* g = dlogits.data();
  const float uniform = smoothing / static_cast<float>(vocab);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    float* out = g + r * vocab;
    if (targets[r] == ignore_id) {
      std::fill_n(out, vocab, 0.0f);
      continue;
    }
    const float* row = x + r * vocab;
    for (int64_t v = 0; v < vocab; ++v) out[v] = scale * (std::exp(row[v] - lse[r]) - uniform);
    out[targets[r]] -= scale * (1.0f - smoothing);
  }
}

}  // namespace rosetta::kernels
