#include "rosetta/train/model_replicas.h"

#include <algorithm>
#include <exception>
#include <thread>

#include "rosetta/error.h"
#include "rosetta/ops/tensor_ops.h"
#include "rosetta/tensor/random.h"
#include "rosetta/tensor/threads.h"

namespace rosetta {

ModelReplicas::ModelReplicas(Transformer& model, int64_t replicas, int64_t threads)
    : model_(model),
      threads_each_(static_cast<int>(std::max<int64_t>(1, threads / replicas))),
      threads_all_(static_cast<int>(threads)) {
  check(replicas >= 1 && replicas <= threads, "train.replicas must be between 1 and train.threads (", threads,
        "), got ", replicas);
  for (int64_t r = 1; r < replicas; ++r) {
    Rng unused(static_cast<uint64_t>(r));  // the values come from the model
    copies_.push_back(std::make_unique<Transformer>(model.config(), unused));
  }
  copy_values();
}

ModelReplicas::~ModelReplicas() = default;

void ModelReplicas::copy_values() {
  const auto source = model_.named_parameters();
  for (const auto& copy : copies_) {
    auto target = copy->named_parameters();
    check(target.size() == source.size(), "a model replica has ", target.size(), " parameters, the model ",
          source.size());
    for (size_t i = 0; i < source.size(); ++i) {
      const Tensor& from = source[i].second.value();
      Tensor& to = target[i].second.mutable_value();
      check(to.shape() == from.shape(), "replica parameter ", target[i].first, " has another shape");
      ops::copy_into(from, to);
    }
  }
}

ModelReplicas::Sums ModelReplicas::forward_backward(const Batch& batch, int64_t update_tokens, float label_smoothing,
                                                    uint64_t dropout_seed) {
  const std::vector<Batch> pieces = split_batch(batch, count());
  std::vector<Sums> sums(pieces.size());
  std::vector<std::exception_ptr> failures(pieces.size());
  const auto run = [&](size_t r) {
    try {
      const Batch& piece = pieces[r];
      if (piece.target_tokens == 0) return;
      set_num_threads(threads_each_);  // this thread's OpenMP teams and oneDNN's work split
      const Transformer& model = r == 0 ? model_ : *copies_[r - 1];
      Rng dropout(mix64(dropout_seed + r));
      double nll = 0;
      Var loss = model.loss(piece.src, piece.tgt_in, piece.tgt_out, label_smoothing, &dropout, &nll);
      sums[r] = {loss.value().item() * static_cast<double>(piece.target_tokens),
                 nll * static_cast<double>(piece.target_tokens)};
      backward(loss, Tensor::scalar(static_cast<float>(piece.target_tokens) / static_cast<float>(update_tokens)));
    } catch (...) {
      failures[r] = std::current_exception();
    }
  };
  {
    std::vector<std::thread> others;
    for (size_t r = 1; r < pieces.size(); ++r) others.emplace_back(run, r);
    run(0);
    for (std::thread& t : others) t.join();
  }
  set_num_threads(threads_all_);
  for (const std::exception_ptr& failure : failures)
    if (failure) std::rethrow_exception(failure);
  // The others' gradients into the model's, replica by replica.
  auto into = model_.named_parameters();
  for (const auto& copy : copies_) {
    auto from = copy->named_parameters();
    for (size_t i = 0; i < into.size(); ++i) {
      Var& theirs = from[i].second;
      if (!theirs.grad().defined()) continue;
      const Tensor g = theirs.grad();
      theirs.zero_grad();  // g alone holds it: the model's leaf may take it without a copy
      into[i].second.accumulate_grad(g);
    }
  }
  Sums total;
  for (const Sums& s : sums) {
    total.loss += s.loss;
    total.nll += s.nll;
  }
  return total;
}

}  // namespace rosetta
