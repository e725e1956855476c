// Label-smoothed cross-entropy on oneDNN's softmax. The forward reads the
// logits once for each row's sum and largest value, which give the loss
// without a log-probability tensor, then writes the probabilities (in place
// if asked); the backward turns the probabilities into the gradient in place.
// The logits are not needed after the forward.
// Matches torch.nn.functional.cross_entropy(label_smoothing=eps,
// ignore_index=...): the smoothing mass spreads over all V classes.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/kernels.h"
#include "rosetta/error.h"

namespace rosetta::kernels {

namespace {

void check_args(const Tensor& logits, std::span<const int32_t> targets, float smoothing, int32_t ignore_id) {
  check(logits.ndim() == 2 && logits.is_contiguous(), "cross_entropy needs contiguous [N, V] logits, got ",
        shape_text(logits.shape()));
  check(static_cast<int64_t>(targets.size()) == logits.dim(0), "cross_entropy: ", targets.size(),
        " targets for ", logits.dim(0), " rows");
  check(smoothing >= 0.0f && smoothing < 1.0f, "label smoothing must be in [0, 1), got ", smoothing);
  const int64_t vocab = logits.dim(1);
  for (size_t r = 0; r < targets.size(); ++r)
    check(targets[r] == ignore_id || (targets[r] >= 0 && targets[r] < vocab), "target id ", targets[r], " in row ", r,
          " is outside the vocabulary of ", vocab);
}

}  // namespace

// Per row, before the softmax: the sum of the logits, the largest one (at j)
// and the target's. After it: lse = x[j] - log p[j] (p[j] >= 1/V, so no
// underflow), -log p[target] = lse - x[target] and the mean of -log p over
// the vocabulary = lse - sum / V. The sums are added in row order at the end:
// the same for any thread count and run (an OpenMP reduction adds in the
// order threads arrive).
CrossEntropySums cross_entropy_forward(const Tensor& logits, std::span<const int32_t> targets, float smoothing,
                                       int32_t ignore_id, Tensor& probs) {
  check_args(logits, targets, smoothing, ignore_id);
  check(probs.shape() == logits.shape() && probs.is_contiguous(), "cross_entropy probabilities shape ",
        shape_text(probs.shape()));
  const int64_t rows = logits.dim(0), vocab = logits.dim(1);
  struct RowStats {
    float sum = 0, largest = 0, target = 0;
    int64_t at = 0;
  };
  std::vector<RowStats> stats(rows);
  const float* x = logits.data();
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    if (targets[r] == ignore_id) continue;
    const float* xr = x + r * vocab;
    float sum = 0.0f, largest = xr[0];
#pragma omp simd reduction(+ : sum) reduction(max : largest)
    for (int64_t v = 0; v < vocab; ++v) {
      sum += xr[v];
      largest = std::max(largest, xr[v]);
    }
    int64_t j = 0;
    while (xr[j] != largest) ++j;
    stats[r] = {sum, largest, xr[targets[r]], j};
  }
  softmax_forward(logits, probs, false);  // probs may be logits itself
  const float* p = probs.data();
  double total = 0.0, total_nll = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    if (targets[r] == ignore_id) continue;
    const RowStats& s = stats[r];
    const double lse = static_cast<double>(s.largest) - std::log(static_cast<double>(p[r * vocab + s.at]));
    const double nll = lse - static_cast<double>(s.target);
    const double smooth = lse - static_cast<double>(s.sum) / static_cast<double>(vocab);
    total += (1.0 - smoothing) * nll + smoothing * smooth;
    total_nll += nll;
  }
  return {total, total_nll};
}

void cross_entropy_backward(Tensor& probs, std::span<const int32_t> targets, float smoothing, int32_t ignore_id,
                            float scale) {
  check(probs.ndim() == 2 && probs.is_contiguous() && static_cast<int64_t>(targets.size()) == probs.dim(0),
        "cross_entropy backward: probabilities ", shape_text(probs.shape()), " for ", targets.size(), " targets");
  const int64_t rows = probs.dim(0), vocab = probs.dim(1);
  float* g = probs.data();
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
