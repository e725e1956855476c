// Finite-difference gradient checks. The loss is L = sum(f(inputs) * R) for a
// fixed random R, accumulated in double (a plain sum is blind for softmax,
// whose rows always sum to 1). Central differences with step h are compared
// with the analytic gradient elementwise: |num - ana| <= atol + rtol * |num|.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "rosetta/autograd/var.h"

namespace rosetta::testing {

struct Tolerance {
  double h = 1e-2;
  double atol = 2e-3;
  double rtol = 2e-2;
};

using VarFn = std::function<Var(const std::vector<Var>&)>;

// Returns "" when every gradient agrees, else a message naming the input,
// element and both values.
std::string gradcheck(const VarFn& f, const std::vector<Tensor>& inputs, Tolerance tol = {},
                      uint64_t seed = 7);

Tensor random_tensor(const Shape& shape, uint64_t seed, float low = -1.0f, float high = 1.0f);

}  // namespace rosetta::testing
