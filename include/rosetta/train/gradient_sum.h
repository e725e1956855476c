// The gradient of one update: the backward passes of its micro-batches added
// up one after another, then (with several processes) summed across them in
// rank order. Each backward pass starts from cleared gradients, so a
// micro-batch's gradient is complete before it joins the sum: one process
// with train.update_freq N and N processes with 1 add the same N tensors in
// the same order, and give the same bits.
#pragma once

#include <vector>

#include "rosetta/dist/process_group.h"
#include "rosetta/nn/module.h"

namespace rosetta {

class GradientSum {
 public:
  explicit GradientSum(nn::NamedParameters parameters) : parameters_(std::move(parameters)) {}

  // Takes the gradients the last backward pass left in the parameters into
  // the sum and clears them for the next pass.
  void add_backward();
  // Puts the sum into the parameters' gradients: this process's alone, or
  // with several processes the rank-ordered sum of all of theirs. A
  // parameter keeps no gradient when no process gave it one.
  void finish(dist::ProcessGroup& group);

 private:
  nn::NamedParameters parameters_;
  std::vector<Tensor> sum_;
  std::vector<bool> owned_;  // sum_[i] is ours to add into (not a backward's own tensor)
};

}  // namespace rosetta
