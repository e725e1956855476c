// Copies of the model that train side by side inside one process, as
// Marian's CPU workers do: each takes a piece of every batch (its sentences
// split between them) on its own graph, with threads / replicas threads, and
// their gradients are added into the model's in replica order. On a
// two-core machine two one-thread copies keep the cores busier than one
// copy on two threads, whose products and kernels split each op in two and
// meet at a barrier after it. The result depends on the number of
// replicas (dropout masks, the order of sums), not on timing: a run
// repeats bit for bit.
#pragma once

#include <memory>
#include <vector>

#include "rosetta/data/batcher.h"
#include "rosetta/model/transformer.h"

namespace rosetta {

class ModelReplicas {
 public:
  // model is replica 0; the others are built from its config.
  ModelReplicas(Transformer& model, int64_t replicas, int64_t threads);
  ~ModelReplicas();
  ModelReplicas(const ModelReplicas&) = delete;
  ModelReplicas& operator=(const ModelReplicas&) = delete;

  int64_t count() const { return static_cast<int64_t>(copies_.size()) + 1; }

  // The other replicas take the model's current values (after an update,
  // a resume or a broadcast).
  void copy_values();

  struct Sums {
    double loss = 0, nll = 0;  // summed over the batch's target tokens
  };
  // One batch: piece r of split_batch(batch, count()) through replica r at
  // once, its loss seeded with its share of update_tokens and dropout drawn
  // from dropout_seed and r; then the others' gradients added into the
  // model's (which may hold earlier batches' already).
  Sums forward_backward(const Batch& batch, int64_t update_tokens, float label_smoothing, uint64_t dropout_seed);

 private:
  Transformer& model_;
  std::vector<std::unique_ptr<Transformer>> copies_;
  int threads_each_;
  int threads_all_;
};

}  // namespace rosetta
