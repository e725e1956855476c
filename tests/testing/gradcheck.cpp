#include "testing/gradcheck.h"

#include <cmath>
#include <sstream>

#include "rosetta/tensor/random.h"

namespace rosetta::testing {

Tensor random_tensor(const Shape& shape, uint64_t seed, float low, float high) {
  Rng rng(seed);
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = rng.uniform(low, high);
  return t;
}

namespace {

double weighted_sum(const Tensor& out, const std::vector<float>& r) {
  const std::vector<float> values = out.to_vector();
  double total = 0.0;
  for (size_t i = 0; i < values.size(); ++i) total += static_cast<double>(values[i]) * r[i];
  return total;
}

}  // namespace

std::string gradcheck(const VarFn& f, const std::vector<Tensor>& inputs, Tolerance tol,
                      uint64_t seed) {
  std::vector<Var> vars;
  for (size_t i = 0; i < inputs.size(); ++i)
    vars.emplace_back(inputs[i], true, "input" + std::to_string(i));
  Var out = f(vars);
  const Tensor r = random_tensor(out.shape(), seed);
  const std::vector<float> r_values = r.to_vector();
  backward(out, r);  // dL/dout = R

  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor x = inputs[i];
    const std::vector<float> analytic =
        vars[i].grad().defined() ? vars[i].grad().to_vector() : std::vector<float>(x.numel(), 0.0f);
    for (int64_t k = 0; k < x.numel(); ++k) {
      const float saved = x.data()[k];
      auto loss_at = [&](double value) {
        x.data()[k] = static_cast<float>(value);
        std::vector<Var> probe;
        for (const Tensor& t : inputs) probe.emplace_back(t, false);
        NoGradGuard no_grad;
        return weighted_sum(f(probe).value(), r_values);
      };
      const double numeric = (loss_at(saved + tol.h) - loss_at(saved - tol.h)) / (2.0 * tol.h);
      x.data()[k] = saved;
      const double error = std::abs(numeric - analytic[k]);
      if (!(error <= tol.atol + tol.rtol * std::abs(numeric))) {
        std::ostringstream msg;
        msg << "input " << i << " element " << k << ": numeric " << numeric << ", analytic "
            << analytic[k];
        return msg.str();
      }
    }
  }
  return "";
}

}  // namespace rosetta::testing
