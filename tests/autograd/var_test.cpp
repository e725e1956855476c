// The tape: gradients accumulate into leaves, no-grad records nothing, the
// graph is freed by backward, and deep graphs do not overflow the stack.
#include <gtest/gtest.h>

#include "rosetta/error.h"
#include "rosetta/ops/ops.h"

namespace rosetta {
namespace {

TEST(Autograd, GradientOfASharedInputAccumulates) {
  // y = sum(x * x + 3x) -> dy/dx = 2x + 3
  Var x(Tensor::from_vector({3}, {1, -2, 0.5}), true, "x");
  Var y = ops::sum(ops::add(ops::mul(x, x), ops::scale(x, 3.0f)));
  backward(y);
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{5, -1, 4}));
}

TEST(Autograd, GradientsAddUpOverTwoBackwardPasses) {
  Var w(Tensor::from_vector({2}, {1, 2}), true, "w");
  backward(ops::sum(ops::scale(w, 2.0f)));
  backward(ops::sum(ops::scale(w, 5.0f)));
  EXPECT_EQ(w.grad().to_vector(), (std::vector<float>{7, 7}));
  w.zero_grad();
  EXPECT_FALSE(w.grad().defined());
}

TEST(Autograd, LeafGradientIsNotAliasedWithAnotherLeaf) {
  Var a(Tensor::from_vector({2}, {1, 2}), true), b(Tensor::from_vector({2}, {3, 4}), true);
  backward(ops::sum(ops::add(a, b)));
  EXPECT_FALSE(a.grad().shares_storage_with(b.grad()));
}

TEST(Autograd, NoGradScopeRecordsNothing) {
  Var w(Tensor::from_vector({2}, {1, 2}), true);
  Var y;
  {
    NoGradGuard guard;
    EXPECT_FALSE(grad_enabled());
    y = ops::sum(ops::mul(w, w));
  }
  EXPECT_TRUE(grad_enabled());
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(y.node()->inputs.empty());
  EXPECT_THROW(backward(y), Error);
}

TEST(Autograd, BackwardFreesTheGraph) {
  Var w(Tensor::from_vector({2}, {1, 2}), true);
  Var hidden = ops::mul(w, w);
  Var y = ops::sum(hidden);
  EXPECT_FALSE(y.node()->inputs.empty());
  backward(y);
  EXPECT_TRUE(y.node()->inputs.empty());
  EXPECT_FALSE(static_cast<bool>(y.node()->backward));
  EXPECT_FALSE(hidden.grad().defined());  // intermediate gradients are dropped
}

TEST(Autograd, DeepChainDoesNotOverflowTheStack) {
  Var x(Tensor::from_vector({1}, {1.0f}), true);
  Var y = x;
  for (int i = 0; i < 20000; ++i) y = ops::scale(y, 1.0f);
  backward(ops::sum(y));
  EXPECT_EQ(x.grad().item(), 1.0f);
}

TEST(Autograd, NonScalarLossNeedsAnExplicitGradient) {
  Var x(Tensor::from_vector({2}, {1, 2}), true);
  Var y = ops::scale(x, 2.0f);
  EXPECT_THROW(backward(y), Error);
  backward(y, Tensor::from_vector({2}, {1, 10}));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{2, 20}));
}

TEST(Autograd, ConstantsGetNoGradient) {
  Var c(Tensor::from_vector({2}, {1, 2}), false);
  Var w(Tensor::from_vector({2}, {3, 4}), true);
  backward(ops::sum(ops::mul(c, w)));
  EXPECT_FALSE(c.grad().defined());
  EXPECT_EQ(w.grad().to_vector(), (std::vector<float>{1, 2}));
}

}  // namespace
}  // namespace rosetta
