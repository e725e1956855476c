// Adam / AdamW, the learning-rate schedules, the gradient norm, clipping and
// the weight average against implementations written here, in double, from
// the formulas they follow: torch.optim.Adam and AdamW (bias-corrected,
// coupled L2 against decoupled decay), the warm-up schedules the config
// documents, and torch.nn.utils.clip_grad_norm_. Agreement within 1e-6
// relative.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>

#include "rosetta/model/checkpoint.h"
#include "rosetta/tensor/random.h"
#include "rosetta/train/optimizer.h"
#include "rosetta/train/trainer.h"
#include "testing/temp_dir.h"
#include "testing/tiny_run.h"

namespace rosetta {
namespace {

using testing::TempDir;
using testing::tiny_config;

using Values = std::vector<std::vector<double>>;  // one vector per parameter

Values zeros_like(const Values& values) {
  Values zeros;
  for (const auto& p : values) zeros.emplace_back(p.size(), 0.0);
  return zeros;
}

// torch.optim.Adam / AdamW, one step (torch/optim/adam.py, _single_tensor_adam):
//   AdamW: p *= 1 - lr * wd            Adam: g += wd * p
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
struct ReferenceAdam {
  double beta1, beta2, eps, weight_decay;
  bool decoupled;
  Values m = {}, v = {};
  Values m_abs = {};  // m's recurrence on |grad|: the scale of m's rounding errors when its terms cancel
  int64_t t = 0;

  void step(Values& w, const Values& g, double lr) {
    if (m.empty()) m = v = m_abs = zeros_like(w);
    ++t;
    const double bc1 = 1 - std::pow(beta1, t), bc2 = 1 - std::pow(beta2, t);
    for (size_t k = 0; k < w.size(); ++k)
      for (size_t i = 0; i < w[k].size(); ++i) {
        double grad = g[k][i];
        if (decoupled) w[k][i] *= 1 - lr * weight_decay;
        else grad += weight_decay * w[k][i];
        m[k][i] = beta1 * m[k][i] + (1 - beta1) * grad;
        m_abs[k][i] = beta1 * m_abs[k][i] + (1 - beta1) * std::abs(grad);
        v[k][i] = beta2 * v[k][i] + (1 - beta2) * grad * grad;
        w[k][i] -= lr / bc1 * m[k][i] / (std::sqrt(v[k][i]) / std::sqrt(bc2) + eps);
      }
  }
};

// torch.nn.utils.clip_grad_norm_(max_norm): total = ||g||_2 over every
// gradient; when max_norm / (total + 1e-6) < 1 every gradient is multiplied
// by it. Returns the norm before clipping.
double reference_clip(Values& g, double max_norm) {
  double sq = 0;
  for (const auto& p : g)
    for (double x : p) sq += x * x;
  const double total = std::sqrt(sq), coef = max_norm / (total + 1e-6);
  if (max_norm > 0 && coef < 1)
    for (auto& p : g)
      for (double& x : p) x *= coef;
  return total;
}

// The schedules as the config documents them: a linear warm-up from
// warmup_init_lr to lr over warmup_steps updates, then inverse_sqrt
// (lr * sqrt(warmup / step), the PyTorch reference's
// lr * min(step / warmup, sqrt(warmup / step)) when the warm-up starts at 0),
// constant, or linear to zero at decay_steps (0: max_steps).
double reference_lr(const TrainConfig& c, int64_t step) {
  const double s = static_cast<double>(step), w = static_cast<double>(c.warmup_steps), peak = c.lr;
  if (c.schedule == ScheduleKind::inverse_sqrt && c.warmup_init_lr == 0 && c.warmup_steps > 0)
    return peak * std::min(s / w, std::sqrt(w / s));
  if (c.warmup_steps > 0 && step <= c.warmup_steps) return c.warmup_init_lr + (peak - c.warmup_init_lr) * s / w;
  switch (c.schedule) {
    case ScheduleKind::inverse_sqrt: return peak / std::sqrt(s / std::max(w, 1.0));
    case ScheduleKind::constant: return peak;
    case ScheduleKind::linear: {
      const double end = static_cast<double>(c.decay_steps ? c.decay_steps : c.max_steps);
      return s >= end ? 0.0 : peak * (end - s) / (end - w);
    }
  }
  return 0;
}

::testing::AssertionResult close(double got, double want, double rtol = 1e-6, double atol = 0) {
  if (std::abs(got - want) <= rtol * std::abs(want) + atol) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << got << " vs " << want << " (difference " << got - want << ")";
}

// Float values of mixed magnitudes, zeros included: what gradients look like.
std::vector<float> mixed_values(size_t n, uint64_t seed, float scale) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) {
    const float magnitude = std::pow(10.0f, rng.uniform(-4.0f, 1.0f));
    v[i] = i % 11 == 5 ? 0.0f : scale * magnitude * (rng.uniform() < 0.5f ? -1.0f : 1.0f);
  }
  return v;
}

std::vector<double> widen(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

struct AdamCase {
  const char* name;
  OptimizerKind kind;
  float weight_decay, eps;
};

class AdamAgainstTorch : public ::testing::TestWithParam<AdamCase> {};

TEST_P(AdamAgainstTorch, SixStepsMatchTheTorchUpdateRule) {
  const AdamCase& c = GetParam();
  TrainConfig config;
  config.optimizer = c.kind;
  config.weight_decay = c.weight_decay;
  config.adam_eps = c.eps;
  config.adam_beta1 = 0.9f;
  config.adam_beta2 = 0.98f;
  config.lr = 1e-2f;
  config.warmup_steps = 3;
  const std::vector<int64_t> sizes = {37, 5};
  const std::vector<std::string> names = {"p0", "p1"};
  nn::NamedParameters parameters;
  Values w;
  for (size_t k = 0; k < sizes.size(); ++k) {
    const auto init = mixed_values(sizes[k], 100 + k, 0.5f);
    parameters.emplace_back(names[k], Var(Tensor::from_vector({sizes[k]}, init), true));
    w.push_back(widen(init));
  }
  Adam adam(parameters, config);
  // The hyperparameters as the optimizer holds them: 0.98f is not 0.98, and
  // 1 - 0.98f differs from 0.02 by 1e-6 of it.
  ReferenceAdam reference{config.adam_beta1, config.adam_beta2, config.adam_eps, config.weight_decay,
                          c.kind == OptimizerKind::adamw};
  // Float arithmetic keeps a weight to 1e-6 of itself or of the way its
  // updates (each about lr long) have taken it, whichever is larger: a weight
  // that passes near zero keeps the absolute error of its larger past.
  double path = 0;
  for (int64_t step = 1; step <= 6; ++step) {
    Values g;
    for (size_t k = 0; k < sizes.size(); ++k) {
      // Gradients change scale from step to step, as the loss does.
      const auto grad = mixed_values(sizes[k], 1000 * step + k, step % 2 ? 1.0f : 0.05f);
      parameters[k].second.set_grad(Tensor::from_vector({sizes[k]}, grad));
      g.push_back(widen(grad));
    }
    const double lr = reference_lr(config, step);
    adam.step(static_cast<float>(lr));
    reference.step(w, g, lr);
    path += lr;
    EXPECT_EQ(adam.steps(), step);
    for (size_t k = 0; k < sizes.size(); ++k) {
      const auto got = parameters[k].second.value().to_vector();
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_TRUE(close(got[i], w[k][i], 1e-6, 1e-6 * path)) << c.name << " step " << step << " p" << k << "[" << i << "]";
    }
  }
  // The moments a checkpoint keeps are the reference's too.
  Checkpoint saved;
  adam.save(saved);
  EXPECT_EQ(saved.text("state/adam_steps"), "6");
  for (size_t k = 0; k < sizes.size(); ++k) {
    const auto m = saved.find_tensor("adam_m/" + names[k])->to_vector();
    const auto v = saved.find_tensor("adam_v/" + names[k])->to_vector();
    for (size_t i = 0; i < m.size(); ++i) {
      EXPECT_TRUE(close(m[i], reference.m[k][i], 1e-6, 1e-6 * reference.m_abs[k][i])) << c.name << " m p" << k << "[" << i << "]";
      EXPECT_TRUE(close(v[i], reference.v[k][i], 1e-6)) << c.name << " v p" << k << "[" << i << "]";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Optimizer, AdamAgainstTorch,
                         ::testing::Values(AdamCase{"adam", OptimizerKind::adam, 0.0f, 1e-9f},
                                           AdamCase{"adam_l2", OptimizerKind::adam, 0.05f, 1e-9f},
                                           AdamCase{"adamw", OptimizerKind::adamw, 0.1f, 1e-9f},
                                           AdamCase{"adamw_large_eps", OptimizerKind::adamw, 0.01f, 1e-3f}),
                         [](const auto& info) { return std::string(info.param.name); });

// Adam's first step moves every weight with a gradient by lr against its
// sign (m / sqrt(v) = g / |g| after bias correction), whatever its scale;
// AdamW first shrinks it by 1 - lr * wd. By hand: w = 0.5, g = -3, lr = 0.1,
// wd = 0.2 gives 0.5 * 0.98 + 0.1 = 0.59.
TEST(Optimizer, FirstAdamWStepByHand) {
  TrainConfig config;
  config.optimizer = OptimizerKind::adamw;
  config.weight_decay = 0.2f;
  config.adam_eps = 1e-12f;
  nn::NamedParameters parameters = {{"w", Var(Tensor::from_vector({3}, {0.5f, 0.5f, 0.5f}), true)},
                                    {"untouched", Var(Tensor::from_vector({1}, {2.0f}), true)}};
  parameters[0].second.set_grad(Tensor::from_vector({3}, {-3.0f, 1e-5f, 0.0f}));
  Adam adam(parameters, config);
  adam.step(0.1f);
  const auto w = parameters[0].second.value().to_vector();
  EXPECT_TRUE(close(w[0], 0.5 * 0.98 + 0.1));
  EXPECT_TRUE(close(w[1], 0.5 * 0.98 - 0.1, 1e-6));
  EXPECT_TRUE(close(w[2], 0.5 * 0.98));  // no gradient: only the decay
  // A parameter without a gradient is left alone, decay included (torch skips it).
  EXPECT_EQ(parameters[1].second.value().item(), 2.0f);
}

TEST(Optimizer, SchedulesMatchTheirFormulas) {
  struct Case {
    ScheduleKind schedule;
    float lr, warmup_init_lr;
    int64_t warmup, decay, max_steps;
  };
  const std::vector<Case> cases = {
      {ScheduleKind::inverse_sqrt, 7e-4f, 0.0f, 1000, 0, 0},   // the reference's
      {ScheduleKind::inverse_sqrt, 1e-3f, 1e-4f, 4, 0, 0},     // fairseq's warmup_init_lr
      {ScheduleKind::inverse_sqrt, 1e-3f, 0.0f, 0, 0, 0},      // no warm-up: lr / sqrt(step)
      {ScheduleKind::constant, 5e-4f, 0.0f, 10, 0, 0},
      {ScheduleKind::constant, 5e-4f, 0.0f, 0, 0, 0},
      {ScheduleKind::linear, 1e-3f, 0.0f, 2, 10, 0},
      {ScheduleKind::linear, 1e-3f, 1e-4f, 5, 0, 25},          // decays to zero at max_steps
  };
  for (const Case& c : cases) {
    TrainConfig t;
    t.schedule = c.schedule;
    t.lr = c.lr;
    t.warmup_init_lr = c.warmup_init_lr;
    t.warmup_steps = c.warmup;
    t.decay_steps = c.decay;
    t.max_steps = c.max_steps;
    for (int64_t step : {1, 2, 3, 4, 5, 6, 9, 10, 11, 24, 25, 26, 999, 1000, 1001, 4000})
      EXPECT_TRUE(close(learning_rate(t, step), reference_lr(t, step), 1e-6, 1e-12))
          << "schedule " << static_cast<int>(c.schedule) << " warmup " << c.warmup << " step " << step;
  }
  // A few by hand.
  TrainConfig t;
  t.lr = 1e-3f;
  t.warmup_steps = 4;
  EXPECT_TRUE(close(learning_rate(t, 1), 2.5e-4));
  EXPECT_TRUE(close(learning_rate(t, 4), 1e-3));
  EXPECT_TRUE(close(learning_rate(t, 16), 5e-4));  // sqrt(4 / 16) = 1/2
  t.warmup_init_lr = 1e-4f;
  EXPECT_TRUE(close(learning_rate(t, 2), 5.5e-4));  // halfway from 1e-4 to 1e-3
  t.schedule = ScheduleKind::linear;
  t.warmup_init_lr = 0;
  t.warmup_steps = 2;
  t.decay_steps = 10;
  EXPECT_TRUE(close(learning_rate(t, 6), 5e-4));  // halfway from step 2 to step 10
  EXPECT_EQ(learning_rate(t, 10), 0.0f);
  EXPECT_EQ(learning_rate(t, 12), 0.0f);
}

TEST(Optimizer, GradientNormAndScaling) {
  nn::NamedParameters parameters = {{"a", Var(Tensor::from_vector({2}, {0, 0}), true)},
                                    {"b", Var(Tensor::from_vector({1}, {0}), true)},
                                    {"no_grad", Var(Tensor::from_vector({1}, {0}), true)}};
  parameters[0].second.set_grad(Tensor::from_vector({2}, {3.0f, -4.0f}));
  parameters[1].second.set_grad(Tensor::from_vector({1}, {12.0f}));
  EXPECT_EQ(global_grad_norm(parameters), 13.0);  // sqrt(9 + 16 + 144)
  scale_grads(parameters, 0.5f);
  EXPECT_EQ(parameters[0].second.grad().to_vector(), (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(parameters[1].second.grad().to_vector(), (std::vector<float>{6.0f}));
  EXPECT_FALSE(parameters[2].second.grad().defined());
  // Accumulated in double: 1e20^2 overflows float.
  parameters[1].second.set_grad(Tensor::from_vector({1}, {1e20f}));
  EXPECT_TRUE(close(global_grad_norm(parameters), 1e20, 1e-6));
  parameters[0].second.set_grad(Tensor::from_vector({2}, {1.0f, std::numeric_limits<float>::quiet_NaN()}));
  EXPECT_TRUE(std::isnan(global_grad_norm(parameters)));
  parameters[0].second.set_grad(Tensor::from_vector({2}, {1.0f, std::numeric_limits<float>::infinity()}));
  EXPECT_FALSE(std::isfinite(global_grad_norm(parameters)));
}

TEST(Optimizer, ExponentialAverageFollowsItsRecurrence) {
  nn::NamedParameters parameters = {{"w", Var(Tensor::from_vector({2}, {1.0f, -2.0f}), true)}};
  ExponentialAverage ema(parameters, 0.9f);
  std::vector<double> shadow = {1.0, -2.0};  // starts at the parameters
  for (int step = 1; step <= 4; ++step) {
    float* w = parameters[0].second.mutable_value().data();
    w[0] += 0.5f * static_cast<float>(step);
    w[1] *= -1.5f;
    ema.update(parameters);
    for (int i = 0; i < 2; ++i) shadow[i] = 0.9 * shadow[i] + 0.1 * w[i];
  }
  const std::vector<float> trained = parameters[0].second.value().to_vector();
  ema.swap_into(parameters);
  const auto averaged = parameters[0].second.value().to_vector();
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(close(averaged[i], shadow[i])) << i;
  ema.swap_into(parameters);
  EXPECT_EQ(parameters[0].second.value().to_vector(), trained);  // swapped back
}

// The trainer's update end to end: the gradients of each step (taken by the
// hook before clipping) replayed through clip_grad_norm_, the schedule and
// Adam in double give the parameters the run saved. The replay without
// clipping must differ, or the comparison would not see clipping at all.
class TrainerUpdate : public ::testing::TestWithParam<std::pair<const char*, std::vector<std::string>>> {};

TEST_P(TrainerUpdate, ReplayedInDoubleGivesTheSavedParameters) {
  const auto& [label, overrides] = GetParam();
  TempDir dir;
  std::vector<std::string> all = {"train.max_steps=4", "train.valid_every=0", "train.save_every=4", "train.warmup_steps=3"};
  all.insert(all.end(), overrides.begin(), overrides.end());
  const Config config = tiny_config(dir, all);
  std::vector<std::string> names;
  Values initial;
  std::vector<Values> grads;  // per step
  TrainHooks hooks;
  hooks.after_backward = [&](int64_t step, const nn::NamedParameters& parameters) {
    ASSERT_EQ(step, static_cast<int64_t>(grads.size()) + 1);
    if (step == 1)
      for (const auto& [name, var] : parameters) {
        names.push_back(name);
        initial.push_back(widen(var.value().to_vector()));
      }
    Values g;
    for (const auto& [name, var] : parameters) g.push_back(widen(var.grad().to_vector()));
    grads.push_back(std::move(g));
  };
  const TrainResult result = train(config, hooks);
  ASSERT_EQ(result.steps, 4);
  ASSERT_EQ(grads.size(), 4u);
  const auto& t = config.train;
  auto replay = [&](bool clip, std::vector<double>* norms) {
    Values w = initial;
    ReferenceAdam adam{t.adam_beta1, t.adam_beta2, t.adam_eps, t.weight_decay, t.optimizer == OptimizerKind::adamw};
    for (size_t s = 0; s < grads.size(); ++s) {
      Values g = grads[s];
      const double norm = reference_clip(g, clip ? t.clip_norm : 0.0);
      if (norms) norms->push_back(norm);
      adam.step(w, g, reference_lr(t, static_cast<int64_t>(s) + 1));
    }
    return w;
  };
  std::vector<double> norms;
  const Values want = replay(true, &norms);
  double path = 0;  // the tolerance of SixStepsMatchTheTorchUpdateRule
  for (int64_t s = 1; s <= 4; ++s) path += reference_lr(t, s);
  const Checkpoint saved = load_checkpoint(dir.path("run/checkpoints/step-00000004.ckpt"));
  double worst = 0, unclipped_gap = 0;
  const Values unclipped = replay(false, nullptr);
  for (size_t k = 0; k < names.size(); ++k) {
    const auto got = saved.find_tensor("param/" + names[k])->to_vector();
    ASSERT_EQ(got.size(), want[k].size()) << names[k];
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_TRUE(close(got[i], want[k][i], 1e-6, 1e-6 * path)) << label << " " << names[k] << "[" << i << "]";
      worst = std::max(worst, std::abs(got[i] - want[k][i]));
      unclipped_gap = std::max(unclipped_gap, std::abs(unclipped[k][i] - want[k][i]));
    }
  }
  const bool clipping = t.clip_norm > 0 && *std::max_element(norms.begin(), norms.end()) > t.clip_norm;
  if (clipping) {
    EXPECT_GT(unclipped_gap, 100 * worst) << label << ": clipping changes nothing the comparison can see";
  } else {
    EXPECT_EQ(unclipped_gap, 0.0);
  }
  EXPECT_EQ(clipping, std::string(label) != "no_clip") << label << " gradient norms " << norms[0] << " ...";
}

INSTANTIATE_TEST_SUITE_P(
    Optimizer, TrainerUpdate,
    ::testing::Values(std::pair<const char*, std::vector<std::string>>{"adam_clip", {"train.clip_norm=0.5"}},
                      std::pair<const char*, std::vector<std::string>>{"no_clip", {"train.clip_norm=0"}},
                      std::pair<const char*, std::vector<std::string>>{
                          "adamw_clip", {"train.clip_norm=0.5", "train.optimizer=adamw", "train.weight_decay=0.1"}}),
    [](const auto& info) { return std::string(info.param.first); });

}  // namespace
}  // namespace rosetta
