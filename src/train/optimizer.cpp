#include "rosetta/train/optimizer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "rosetta/error.h"

namespace rosetta {

Adam::Adam(nn::NamedParameters parameters, const TrainConfig& config)
    : parameters_(std::move(parameters)),
      beta1_(config.adam_beta1),
      beta2_(config.adam_beta2),
      eps_(config.adam_eps),
      weight_decay_(config.weight_decay),
      decoupled_(config.optimizer == OptimizerKind::adamw) {
  for (const auto& [name, var] : parameters_) {
    m_.push_back(Tensor::zeros(var.shape()));
    v_.push_back(Tensor::zeros(var.shape()));
  }
}

void Adam::step(float lr, float grad_scale) {
  ++steps_;
  // torch.optim.Adam: p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)
  const double bc1 = 1.0 - std::pow(static_cast<double>(beta1_), static_cast<double>(steps_));
  const double bc2 = 1.0 - std::pow(static_cast<double>(beta2_), static_cast<double>(steps_));
  const float step_size = static_cast<float>(lr / bc1);
  const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  const float b1 = beta1_, b2 = beta2_, eps = eps_, wd = weight_decay_;
  const float decay = decoupled_ ? 1.0f - lr * wd : 1.0f;
  const float coupled_wd = decoupled_ ? 0.0f : wd;
  for (size_t k = 0; k < parameters_.size(); ++k) {
    Var& p = parameters_[k].second;
    if (!p.grad().defined()) continue;  // untouched this step (e.g. no batch used it)
    float* w = p.mutable_value().data();
    const float* g = p.grad().data();
    float* m = m_[k].data();
    float* v = v_[k].data();
    const int64_t n = p.value().numel();
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const float grad = g[i] * grad_scale + coupled_wd * w[i];
      m[i] = b1 * m[i] + (1.0f - b1) * grad;
      v[i] = b2 * v[i] + (1.0f - b2) * grad * grad;
      w[i] = decay * w[i] - step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
    }
  }
}

void Adam::zero_grad() {
  for (auto& [name, var] : parameters_) var.zero_grad();
}

void Adam::save(Checkpoint& checkpoint) const {
  for (size_t k = 0; k < parameters_.size(); ++k) {
    checkpoint.tensors.emplace_back("adam_m/" + parameters_[k].first, m_[k]);
    checkpoint.tensors.emplace_back("adam_v/" + parameters_[k].first, v_[k]);
  }
  checkpoint.texts["state/adam_steps"] = std::to_string(steps_);
}

void Adam::restore(const Checkpoint& checkpoint) {
  for (size_t k = 0; k < parameters_.size(); ++k) {
    for (auto [prefix, target] : {std::pair{"adam_m/", &m_[k]}, {"adam_v/", &v_[k]}}) {
      const std::string name = prefix + parameters_[k].first;
      const Tensor* saved = checkpoint.find_tensor(name);
      check(saved && saved->shape() == target->shape(), "checkpoint lacks optimizer state ", name,
            " of shape ", shape_text(target->shape()));
      std::memcpy(target->data(), saved->data(), saved->numel() * sizeof(float));
    }
  }
  steps_ = std::stoll(checkpoint.text("state/adam_steps"));
}

// Squares summed over fixed blocks in parallel, then the block sums added in
// block order: the same result for any thread count and any run (OpenMP's
// reduction adds partial sums in the order threads arrive).
double global_grad_norm(const nn::NamedParameters& parameters) {
  constexpr int64_t kBlock = 16384;
  double total = 0.0;
  std::vector<double> partial;
  for (const auto& [name, var] : parameters) {
    if (!var.grad().defined()) continue;
    const float* g = var.grad().data();
    const int64_t n = var.grad().numel(), blocks = (n + kBlock - 1) / kBlock;
    partial.assign(blocks, 0.0);
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < blocks; ++b) {
      // Vector lanes add in a fixed order too: only the block's bounds decide it.
      double sum = 0.0;
      const int64_t end = std::min(n, (b + 1) * kBlock);
#pragma omp simd reduction(+ : sum)
      for (int64_t i = b * kBlock; i < end; ++i) sum += static_cast<double>(g[i]) * g[i];
      partial[b] = sum;
    }
    for (const double p : partial) total += p;
  }
  return std::sqrt(total);
}

void scale_grads(const nn::NamedParameters& parameters, float factor) {
  for (const auto& [name, var] : parameters) {
    if (!var.grad().defined()) continue;
    float* g = const_cast<float*>(var.grad().data());  // leaves own their gradient
    const int64_t n = var.grad().numel();
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) g[i] *= factor;
  }
}

float learning_rate(const TrainConfig& c, int64_t step) {
  const double s = static_cast<double>(step), warmup = static_cast<double>(c.warmup_steps);
  if (c.warmup_steps > 0 && step <= c.warmup_steps) {
    if (c.schedule == ScheduleKind::inverse_sqrt && c.warmup_init_lr == 0.0f)
      return static_cast<float>(c.lr * s / warmup);  // the reference's min(step/w, sqrt(w/step))
    return static_cast<float>(c.warmup_init_lr + (c.lr - c.warmup_init_lr) * s / warmup);
  }
  switch (c.schedule) {
    case ScheduleKind::inverse_sqrt:
      return static_cast<float>(c.lr * std::sqrt(std::max(warmup, 1.0) / s));
    case ScheduleKind::constant:
      return c.lr;
    case ScheduleKind::linear: {
      const double end = static_cast<double>(c.decay_steps > 0 ? c.decay_steps : c.max_steps > 0 ? c.max_steps : 0);
      if (end <= warmup) return c.lr;
      return static_cast<float>(c.lr * std::max(0.0, (end - s) / (end - warmup)));
    }
  }
  return c.lr;
}

ExponentialAverage::ExponentialAverage(const nn::NamedParameters& parameters, float decay) : decay_(decay) {
  for (const auto& [name, var] : parameters) {
    Tensor copy = Tensor::empty(var.shape());
    std::memcpy(copy.data(), var.value().data(), var.value().numel() * sizeof(float));
    shadow_.emplace_back(name, copy);
  }
}

void ExponentialAverage::update(const nn::NamedParameters& parameters) {
  const float d = decay_;
  for (size_t k = 0; k < shadow_.size(); ++k) {
    float* s = shadow_[k].second.data();
    const float* w = parameters[k].second.value().data();
    const int64_t n = shadow_[k].second.numel();
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) s[i] = d * s[i] + (1.0f - d) * w[i];
  }
}

void ExponentialAverage::save(Checkpoint& checkpoint) const {
  for (const auto& [name, t] : shadow_) checkpoint.tensors.emplace_back("ema/" + name, t);
}

void ExponentialAverage::restore(const Checkpoint& checkpoint) {
  for (auto& [name, t] : shadow_) {
    const Tensor* saved = checkpoint.find_tensor("ema/" + name);
    check(saved && saved->shape() == t.shape(), "checkpoint lacks the averaged weights ema/", name);
    std::memcpy(t.data(), saved->data(), t.numel() * sizeof(float));
  }
}

void ExponentialAverage::swap_into(const nn::NamedParameters& parameters) {
  for (size_t k = 0; k < shadow_.size(); ++k) {
    Var p = parameters[k].second;
    std::swap_ranges(p.mutable_value().data(), p.mutable_value().data() + p.value().numel(), shadow_[k].second.data());
  }
}

}  // namespace rosetta
