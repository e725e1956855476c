// Adam and AdamW with fp32 moments, as torch.optim.Adam / AdamW compute them,
// plus the gradient utilities a training step needs: the global norm, clipping
// and a non-finite check. The moments are saved in checkpoints so a resumed
// run continues exactly.
#pragma once

#include <string>
#include <vector>

#include "rosetta/config/config.h"
#include "rosetta/model/checkpoint.h"
#include "rosetta/nn/module.h"

namespace rosetta {

class Adam {
 public:
  Adam(nn::NamedParameters parameters, const TrainConfig& config);

  // One update with learning rate lr from the parameters' gradients.
  // grad_scale multiplies every gradient first (clipping), in the same pass.
  void step(float lr, float grad_scale = 1.0f);
  void zero_grad();
  int64_t steps() const { return steps_; }

  void save(Checkpoint& checkpoint) const;     // "adam_m/<name>", "adam_v/<name>", "state/adam_steps"
  void restore(const Checkpoint& checkpoint);  // throws naming a missing or misshapen moment

 private:
  nn::NamedParameters parameters_;
  std::vector<Tensor> m_, v_;
  float beta1_, beta2_, eps_, weight_decay_;
  bool decoupled_;
  int64_t steps_ = 0;
};

// sqrt(sum of squared gradient elements) over every parameter with a gradient,
// accumulated in double; NaN or inf when any gradient is.
double global_grad_norm(const nn::NamedParameters& parameters);
// Multiplies every gradient by factor.
void scale_grads(const nn::NamedParameters& parameters, float factor);

// The learning rate before update `step` (counted from 1). A linear schedule
// with neither train.decay_steps nor train.max_steps holds the peak after
// warm-up here: the trainer ends it with the time budget (TimePlan).
float learning_rate(const TrainConfig& config, int64_t step);

// Exponential moving average of the parameters (Marian's exponential
// smoothing): shadow = decay * shadow + (1 - decay) * parameter.
class ExponentialAverage {
 public:
  ExponentialAverage(const nn::NamedParameters& parameters, float decay);
  void update(const nn::NamedParameters& parameters);
  void save(Checkpoint& checkpoint) const;  // "ema/<name>"
  void restore(const Checkpoint& checkpoint);
  // Swaps the averaged weights into the model (and back on a second call).
  void swap_into(const nn::NamedParameters& parameters);

 private:
  std::vector<std::pair<std::string, Tensor>> shadow_;
  float decay_;
};

}  // namespace rosetta
