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
  Tensor logsumexp = Tensor::empty({x.dim(0)});
  const auto sums = kernels::cross_entropy_forward(x, targets, smoothing, ignore_id, logsumexp);
  if (nll) *nll = sums.nll / static_cast<double>(counted);
  const float inv_count = 1.0f / static_cast<float>(counted);
  Tensor loss = Tensor::scalar(static_cast<float>(sums.loss / static_cast<double>(counted)));
  return Var::from_op(loss, {logits},
                      [logits = logits.sink(), x, targets, smoothing, ignore_id, logsumexp, inv_count](const Tensor& g) {
                        Tensor dx = Tensor::empty(x.shape());
                        kernels::cross_entropy_backward(x, logsumexp, targets, smoothing, ignore_id,
                                                        g.item() * inv_count, dx);
                        logits.accumulate_grad(dx);
                      });
}

}  // namespace rosetta::ops
