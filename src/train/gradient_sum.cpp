#include "rosetta/train/gradient_sum.h"

#include <algorithm>

namespace rosetta {

namespace {

void add_into(float* sum, const float* part, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) sum[i] += part[i];
}

}  // namespace

GradientSum::GradientSum(nn::NamedParameters parameters, dist::ProcessGroup& group, int64_t bucket_floats)
    : parameters_(std::move(parameters)),
      group_(group),
      sum_(parameters_.size()),
      owned_(parameters_.size(), 0),
      taken_(parameters_.size(), 0),
      bucket_of_(parameters_.size()) {
  int64_t filled = 0;
  for (size_t k = parameters_.size(); k-- > 0;) {
    index_[parameters_[k].second.node().get()] = k;
    if (buckets_.empty() || filled >= bucket_floats) {
      buckets_.emplace_back();
      filled = 0;
    }
    buckets_.back().push_back(k);
    bucket_of_[k] = buckets_.size() - 1;
    filled += parameters_[k].second.value().numel();
  }
}

GradientSum::~GradientSum() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    abandoned_ = true;
  }
  changed_.notify_all();
  // Leaving in the middle of an update (an error): the thread may wait in a
  // collective the other processes never join; the process is about to end.
  thread_.detach();
}

void GradientSum::fold(size_t i) {
  Var& p = parameters_[i].second;
  if (!p.grad().defined()) return;
  if (!sum_[i].defined()) {
    sum_[i] = p.grad();  // the first pass's gradient is the sum so far: no copy
  } else {
    if (!owned_[i]) {
      Tensor own = Tensor::empty(sum_[i].shape());
      std::copy_n(sum_[i].data(), sum_[i].numel(), own.data());
      sum_[i] = own;
      owned_[i] = 1;
    }
    add_into(sum_[i].data(), p.grad().data(), sum_[i].numel());
  }
  p.zero_grad();
}

void GradientSum::add_backward() {
  for (size_t i = 0; i < parameters_.size(); ++i) fold(i);
}

LeafDoneFn GradientSum::leaf_done() {
  // Alone there is nothing to overlap: finish() takes the last pass, and the
  // backward pass keeps no count of what it owes each parameter.
  if (!group_.distributed()) return {};
  return [this](const detail::Node& leaf) {
    const auto it = index_.find(&leaf);
    if (it == index_.end()) return;
    start_update();
    take(it->second);
  };
}

void GradientSum::take(size_t i) {
  fold(i);
  if (!running_ || taken_[i]) return;
  {
    std::lock_guard lock(mutex_);
    taken_[i] = 1;
    --waiting_[bucket_of_[i]];
  }
  changed_.notify_all();
}

void GradientSum::start_update() {
  if (!group_.distributed() || running_) return;
  waiting_.clear();
  for (const auto& bucket : buckets_) waiting_.push_back(bucket.size());
  std::fill(taken_.begin(), taken_.end(), 0);
  running_ = true;
  abandoned_ = false;
  if (group_.threads_may_communicate()) thread_ = std::thread([this] { communicate(); });
}

void GradientSum::communicate() {
  std::vector<float> flat;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return waiting_[b] == 0 || abandoned_; });
      if (abandoned_) return;
    }
    // The bucket's gradients (zeros where this process has none), then one
    // has-a-gradient flag per parameter, summed like the rest.
    const std::vector<size_t>& bucket = buckets_[b];
    int64_t total = 0;
    for (size_t i : bucket) total += parameters_[i].second.value().numel();
    flat.assign(static_cast<size_t>(total) + bucket.size(), 0.0f);
    int64_t at = 0;
    for (size_t k = 0; k < bucket.size(); ++k) {
      const size_t i = bucket[k];
      const int64_t n = parameters_[i].second.value().numel();
      if (sum_[i].defined()) {
        std::copy_n(sum_[i].data(), n, flat.data() + at);
        flat[total + k] = 1.0f;
      }
      at += n;
    }
    group_.sum_in_rank_order(flat);
    at = 0;
    for (size_t k = 0; k < bucket.size(); ++k) {
      const size_t i = bucket[k];
      const Tensor& value = parameters_[i].second.value();
      sum_[i] = Tensor();
      if (flat[total + k] > 0) {
        sum_[i] = Tensor::empty(value.shape());
        std::copy_n(flat.data() + at, value.numel(), sum_[i].data());
      }
      at += value.numel();
    }
  }
}

void GradientSum::finish() {
  if (group_.distributed()) {
    start_update();  // a process with no batch this update has had no last pass
    for (size_t i = 0; i < parameters_.size(); ++i) take(i);  // those no pass reached
    if (thread_.joinable()) thread_.join();
    else communicate();  // MPI allows no other thread: after the pass, then
    running_ = false;
  } else {
    add_backward();
  }
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (sum_[i].defined()) parameters_[i].second.set_grad(sum_[i]);
    sum_[i] = Tensor();
  }
  std::fill(owned_.begin(), owned_.end(), 0);
}

}  // namespace rosetta
