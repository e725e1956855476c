// Label-smoothed cross-entropy with an ignored (padding) target; averaged
// over the rows that count.
#include "kernels/kernels.h"
#include "rosetta/error.h"
#include "rosetta/ops/ops.h"

namespace rosetta::ops {

Var cross_entropy(const Var& logits, const std::vector<int32_t>& targets, float smoothing,
                  int32_t ignore_id, double* nll) {
  const Tensor x = kernels::contiguous(logits.value());
  check(x.ndim() == 2, "cross_entropy needs [N, V] logits, got ", shape_text(x.shape()));
  int64_t counted = 0;
  for (int32_t t : targets) counted += t != ignore_id;
  check(counted > 0, "cross_entropy: every target is the ignored id ", ignore_id);
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

}  // namespace rosetta::ops
