// Label-smoothed cross-entropy, one row at a time: a row of logits (32 KB
// for an 8k vocabulary) stays in cache while it is read for its largest
// value and sum, exponentiated in place, and turned into probabilities or
// straight into the gradient. The loss needs no log-probability tensor:
// lse = largest + log sum exp(x - largest), -log p[target] = lse - x[target]
// and the mean of -log p over the vocabulary = lse - sum / V.
// Matches torch.nn.functional.cross_entropy(label_smoothing=eps,
// ignore_index=...): the smoothing mass spreads over all V classes.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/vector_exp.h"
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

enum class Output { none, probabilities, gradient };

struct RowTerms {
  double loss = 0, nll = 0;
};

// One row: its loss terms, and (unless Output::none) out[] = the softmax or
// scale * (softmax - smoothed one-hot). out may be x itself.
RowTerms row_pass(const float* x, int64_t vocab, int32_t target, float smoothing, Output output, float scale,
                  float* out) {
  float largest = -std::numeric_limits<float>::infinity(), sum = 0.0f;
  // A comparison, not std::max: GCC 12 leaves the loop scalar with std::max
  // (its reference return), which made this pass ~70% of the loss's time.
#pragma omp simd reduction(+ : sum) reduction(max : largest)
  for (int64_t v = 0; v < vocab; ++v) {
    sum += x[v];
    largest = x[v] > largest ? x[v] : largest;
  }
  const float target_logit = target >= 0 ? x[target] : 0.0f;
  float total = 0.0f;
  if (output == Output::none) {
#pragma omp simd reduction(+ : total)
    for (int64_t v = 0; v < vocab; ++v) total += exp_nonpositive(x[v] - largest);
  } else {
#pragma omp simd reduction(+ : total)
    for (int64_t v = 0; v < vocab; ++v) {
      const float e = exp_nonpositive(x[v] - largest);
      out[v] = e;
      total += e;
    }
  }
  if (output == Output::probabilities) {
    const float inv = 1.0f / total;
#pragma omp simd
    for (int64_t v = 0; v < vocab; ++v) out[v] *= inv;
  } else if (output == Output::gradient) {
    const float a = scale / total, b = scale * smoothing / static_cast<float>(vocab);
#pragma omp simd
    for (int64_t v = 0; v < vocab; ++v) out[v] = out[v] * a - b;
    out[target] -= scale * (1.0f - smoothing);
  }
  const double lse = static_cast<double>(largest) + std::log(static_cast<double>(total));
  const double nll = lse - static_cast<double>(target_logit);
  const double smooth = lse - static_cast<double>(sum) / static_cast<double>(vocab);
  return {(1.0 - smoothing) * nll + smoothing * smooth, nll};
}

// Every row through row_pass; the rows' terms are added in row order at the
// end: the same for any thread count and run (an OpenMP reduction adds in
// the order threads arrive).
CrossEntropySums all_rows(const Tensor& logits, std::span<const int32_t> targets, float smoothing, int32_t ignore_id,
                          Output output, float scale, float* out, uint16_t* rounded = nullptr,
                          int64_t rounded_stride = 0) {
  const int64_t rows = logits.dim(0), vocab = logits.dim(1);
  std::vector<RowTerms> terms(rows);
  const float* x = logits.data();
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const bool ignored = targets[r] == ignore_id;
    float* out_row = out ? out + r * vocab : nullptr;
    if (ignored && output == Output::gradient) {
      std::fill_n(out_row, vocab, 0.0f);
      if (rounded) std::fill_n(rounded + r * rounded_stride, vocab, uint16_t{0});
      continue;
    }
    if (ignored && output == Output::none) continue;
    const RowTerms t = row_pass(x + r * vocab, vocab, ignored ? -1 : targets[r], smoothing, output, scale, out_row);
    if (rounded) round_to_bf16_serial(out_row, rounded + r * rounded_stride, vocab);
    if (!ignored) terms[r] = t;
  }
  CrossEntropySums sums;
  for (int64_t r = 0; r < rows; ++r) {
    sums.loss += terms[r].loss;
    sums.nll += terms[r].nll;
  }
  return sums;
}

}  // namespace

CrossEntropySums cross_entropy_forward(const Tensor& logits, std::span<const int32_t> targets, float smoothing,
                                       int32_t ignore_id, Tensor& probs) {
  check_args(logits, targets, smoothing, ignore_id);
  check(probs.shape() == logits.shape() && probs.is_contiguous(), "cross_entropy probabilities shape ",
        shape_text(probs.shape()));
  return all_rows(logits, targets, smoothing, ignore_id, Output::probabilities, 1.0f, probs.data());
}

void token_log_probabilities(const Tensor& logits, std::span<const int32_t> tokens, std::span<float> out) {
  check_args(logits, tokens, 0.0f, -1);
  check(out.size() == tokens.size(), "token_log_probabilities: room for ", out.size(), " of ", tokens.size(), " rows");
  const int64_t vocab = logits.dim(1);
  for (size_t r = 0; r < tokens.size(); ++r)
    out[r] = static_cast<float>(-row_pass(logits.data() + r * vocab, vocab, tokens[r], 0.0f, Output::none, 0.0f, nullptr).nll);
}

CrossEntropySums cross_entropy_loss(const Tensor& logits, std::span<const int32_t> targets, float smoothing,
                                    int32_t ignore_id) {
  check_args(logits, targets, smoothing, ignore_id);
  return all_rows(logits, targets, smoothing, ignore_id, Output::none, 1.0f, nullptr);
}

CrossEntropySums cross_entropy_gradient(Tensor& logits, std::span<const int32_t> targets, float smoothing,
                                        int32_t ignore_id, float scale, uint16_t* bf16_gradient,
                                        int64_t bf16_row_stride) {
  check_args(logits, targets, smoothing, ignore_id);
  check(!bf16_gradient || bf16_row_stride >= logits.dim(1), "cross_entropy: bf16 rows ", bf16_row_stride,
        " apart for ", logits.dim(1), " values");
  return all_rows(logits, targets, smoothing, ignore_id, Output::gradient, scale, logits.data(), bf16_gradient,
                  bf16_row_stride);
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
