// rosetta train: from a resolved config to a trained, validated and
// checkpointed model. A batch goes: BatchStream (data/) -> Transformer
// forward -> label-smoothed cross-entropy -> backward -> gradient norm,
// non-finite check, clipping -> Adam with the schedule's learning rate ->
// EMA -> log line / validation / checkpoint as their intervals say.
// Running again in a run folder that holds a checkpoint resumes from it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rosetta/config/config.h"
#include "rosetta/nn/module.h"

namespace rosetta {

struct TrainResult {
  int64_t steps = 0;
  int64_t epochs = 0;        // epoch of the last batch trained
  double best_bleu = -1;     // -1: never validated (or a language model)
  double best_ppl = -1;      // a language model's best validation perplexity (-1: never validated)
  double last_loss = 0;      // label-smoothed, of the last update
  std::string last_checkpoint, best_checkpoint;
  std::string final_checkpoint;  // the average of the last train.average_last checkpoints, when written
  double final_bleu = -1;        // its validation BLEU (-1: not validated)
  // The model to use: the better of best_checkpoint and final_checkpoint on
  // validation (final on a tie); unvalidated, final_checkpoint, else the last.
  std::string model_checkpoint;
  std::string stop_reason;   // "max_steps", "max_time", "max_epochs", "early_stopping", "signal"
};

// Test seams: called after each backward pass, before the gradient checks.
struct TrainHooks {
  std::function<void(int64_t next_step, const nn::NamedParameters& parameters)> after_backward;
  // Replaces the wall clock: the run's elapsed seconds after `step` updates.
  std::function<double(int64_t step)> elapsed;
};

// config: data paths already resolved against the data root.
TrainResult train(const Config& config, const TrainHooks& hooks = {});

}  // namespace rosetta
