// The gradient of one update: the backward passes of its micro-batches added
// up one after another, then (with several processes) summed across them in
// rank order. Each backward pass starts from cleared gradients, so a
// micro-batch's gradient is complete before it joins the sum: one process
// with train.update_freq N and N processes with 1 add the same N tensors in
// the same order, and give the same bits.
//
// With several processes the sum across them overlaps the last backward pass
// (as PyTorch's DistributedDataParallel does): parameters form buckets of
// about kBucketFloats in reverse order of registration, roughly the order
// the backward pass completes them, and a communication thread sums each
// bucket as soon as all its parameters are done, bucket after bucket in the
// same order on every process. Bucketing changes no bits: every element is
// still the rank-ordered sum.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "rosetta/autograd/var.h"
#include "rosetta/dist/process_group.h"
#include "rosetta/nn/module.h"

namespace rosetta {

class GradientSum {
 public:
  static constexpr int64_t kBucketFloats = int64_t{1} << 20;

  GradientSum(nn::NamedParameters parameters, dist::ProcessGroup& group, int64_t bucket_floats = kBucketFloats);
  ~GradientSum();
  GradientSum(const GradientSum&) = delete;
  GradientSum& operator=(const GradientSum&) = delete;

  // Takes the gradients the last backward pass left in the parameters into
  // the sum and clears them for the next pass.
  void add_backward();
  // For the update's last backward pass: backward(loss, seed, sum.leaf_done())
  // takes each parameter into the sum as soon as it is complete (with
  // several processes; alone it is empty and finish() takes the pass).
  LeafDoneFn leaf_done();
  // Puts the sum into the parameters' gradients: this process's alone, or
  // with several processes the rank-ordered sum of all of theirs. A
  // parameter keeps no gradient when no process gave it one.
  void finish();

  size_t buckets() const { return buckets_.size(); }

 private:
  void fold(size_t i);  // parameter i's gradient into the sum
  void take(size_t i);  // fold, and the bucket may go
  void start_update();
  void communicate();   // the thread: each bucket in turn, once complete

  nn::NamedParameters parameters_;
  dist::ProcessGroup& group_;
  std::vector<Tensor> sum_;
  // Flags as chars: the two threads write neighbouring ones.
  std::vector<char> owned_;  // sum_[i] is ours to add into (not a backward's own tensor)
  std::vector<char> taken_;  // this update, by take()
  std::unordered_map<const detail::Node*, size_t> index_;
  std::vector<std::vector<size_t>> buckets_;  // parameter indices
  std::vector<size_t> bucket_of_;

  // Shared with the communication thread.
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<size_t> waiting_;  // per bucket: parameters not yet taken
  std::thread thread_;
  bool running_ = false;    // an update's buckets are being summed
  bool abandoned_ = false;
};

}  // namespace rosetta
