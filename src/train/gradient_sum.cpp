#include "rosetta/train/gradient_sum.h"

#include <algorithm>

namespace rosetta {

namespace {

void add_into(float* sum, const float* part, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) sum[i] += part[i];
}

}  // namespace

void GradientSum::add_backward() {
  if (sum_.empty()) {
    sum_.resize(parameters_.size());
    owned_.assign(parameters_.size(), false);
  }
  for (size_t i = 0; i < parameters_.size(); ++i) {
    Var& p = parameters_[i].second;
    if (!p.grad().defined()) continue;
    if (!sum_[i].defined()) {
      sum_[i] = p.grad();  // the first pass's gradient is the sum so far: no copy
    } else {
      if (!owned_[i]) {
        Tensor own = Tensor::empty(sum_[i].shape());
        std::copy_n(sum_[i].data(), sum_[i].numel(), own.data());
        sum_[i] = own;
        owned_[i] = true;
      }
      add_into(sum_[i].data(), p.grad().data(), sum_[i].numel());
    }
    p.zero_grad();
  }
}

void GradientSum::finish(dist::ProcessGroup& group) {
  if (sum_.empty()) sum_.resize(parameters_.size());
  if (group.distributed()) {
    // One flat buffer: every gradient (zeros where this process has none),
    // then one has-a-gradient flag per parameter, summed like the rest.
    int64_t total = 0;
    for (const auto& [name, p] : parameters_) total += p.value().numel();
    std::vector<float> flat(static_cast<size_t>(total) + parameters_.size(), 0.0f);
    int64_t at = 0;
    for (size_t i = 0; i < parameters_.size(); ++i) {
      const int64_t n = parameters_[i].second.value().numel();
      if (sum_[i].defined()) {
        std::copy_n(sum_[i].data(), n, flat.data() + at);
        flat[total + i] = 1.0f;
      }
      at += n;
    }
    group.sum_in_rank_order(flat);
    at = 0;
    for (size_t i = 0; i < parameters_.size(); ++i) {
      const Tensor& value = parameters_[i].second.value();
      sum_[i] = Tensor();
      if (flat[total + i] > 0) {
        sum_[i] = Tensor::empty(value.shape());
        std::copy_n(flat.data() + at, value.numel(), sum_[i].data());
      }
      at += value.numel();
    }
  }
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (sum_[i].defined()) parameters_[i].second.set_grad(sum_[i]);
    sum_[i] = Tensor();
  }
  owned_.assign(parameters_.size(), false);
}

}  // namespace rosetta
