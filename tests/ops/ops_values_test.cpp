// Forward values of the ops against closed forms and hand computations
// (never against the engine itself), and the errors bad shapes raise.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <thread>

#include "kernels/dnnl/context.h"
#include "kernels/kernels.h"
#include "rosetta/error.h"
#include "rosetta/ops/engine_stats.h"
#include "rosetta/ops/ops.h"
#include "rosetta/ops/precision.h"
#include "rosetta/ops/tensor_ops.h"
#include "rosetta/tensor/threads.h"
#include "testing/gradcheck.h"

namespace rosetta {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

Var constant(const Shape& shape, const std::vector<float>& values) {
  return Var(Tensor::from_vector(shape, values));
}

void expect_near(const std::vector<float>& actual, const std::vector<double>& expected,
                 double tol = 1e-5) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], tol) << "at " << i;
}

TEST(MatmulValues, TwoByThreeTimesThreeByTwo) {
  Var a = constant({2, 3}, {1, 2, 3, 4, 5, 6});
  Var b = constant({3, 2}, {7, 8, 9, 10, 11, 12});
  expect_near(ops::matmul(a, b).value().to_vector(), {58, 64, 139, 154});
  // a^T is [3, 2]; a^T @ a = [[17,22,27],[22,29,36],[27,36,45]], halved by alpha.
  expect_near(ops::matmul(a, a, true, false, 0.5f).value().to_vector(),
              {8.5, 11, 13.5, 11, 14.5, 18, 13.5, 18, 22.5});
  expect_near(ops::matmul(a, a, false, true).value().to_vector(), {14, 32, 32, 77});
}

TEST(MatmulValues, BatchesAreIndependent) {
  Var a = constant({2, 1, 2}, {1, 2, 3, 4});
  Var b = constant({2, 2, 1}, {5, 6, 7, 8});
  expect_near(ops::matmul(a, b).value().to_vector(), {17, 53});
}

TEST(MatmulValues, MismatchNamesBothShapes) {
  Var a = constant({2, 3}, std::vector<float>(6, 1));
  Var b = constant({2, 3}, std::vector<float>(6, 1));
  try {
    ops::matmul(a, b);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3] @ [2, 3]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ops::matmul(a, constant({1, 3, 2}, std::vector<float>(6, 1))), Error);
}

TEST(LinearValues, WeightIsOutByInWithBias) {
  Var x = constant({1, 2}, {1, 2});
  Var w = constant({3, 2}, {1, 0, 0, 1, 1, 1});
  Var b = constant({3}, {10, 20, 30});
  expect_near(ops::linear(x, w, b).value().to_vector(), {11, 22, 33});
  EXPECT_THROW(ops::linear(x, constant({3, 3}, std::vector<float>(9, 0)), b), Error);
}

TEST(ArithmeticValues, BroadcastAddSubMul) {
  Var a = constant({2, 1}, {1, 2});
  Var b = constant({3}, {10, 20, 30});
  expect_near(ops::add(a, b).value().to_vector(), {11, 21, 31, 12, 22, 32});
  expect_near(ops::sub(a, b).value().to_vector(), {-9, -19, -29, -8, -18, -28});
  expect_near(ops::mul(a, b).value().to_vector(), {10, 20, 30, 20, 40, 60});
  EXPECT_THROW(ops::add(constant({2}, {1, 2}), b), Error);
}

TEST(ActivationValues, ReluAndErfGelu) {
  Var x = constant({4}, {-1, 0.5, 1, 2});
  expect_near(ops::relu(x).value().to_vector(), {0, 0.5, 1, 2});
  // x * Phi(x) with the normal CDF
  std::vector<double> gelu;
  for (double v : {-1.0, 0.5, 1.0, 2.0}) gelu.push_back(v * 0.5 * (1 + std::erf(v / std::sqrt(2.0))));
  expect_near(ops::gelu(x).value().to_vector(), gelu);
}

TEST(SoftmaxValues, ClosedFormAndRowsSumToOne) {
  Var x = constant({2, 2}, {0, std::log(2.0f), 5, 5});
  expect_near(ops::softmax(x).value().to_vector(), {1.0 / 3, 2.0 / 3, 0.5, 0.5});
  expect_near(ops::log_softmax(x).value().to_vector(),
              {std::log(1.0 / 3), std::log(2.0 / 3), std::log(0.5), std::log(0.5)});
  Var big(testing::random_tensor({7, 33}, 3, -20, 20));
  const auto p = ops::softmax(big).value().to_vector();
  for (int r = 0; r < 7; ++r) {
    double total = 0;
    for (int c = 0; c < 33; ++c) total += p[r * 33 + c];
    EXPECT_NEAR(total, 1.0, 1e-5);
  }
}

TEST(LayerNormValues, RowsHaveZeroMeanUnitVarianceThenGainAndBias) {
  Var x(testing::random_tensor({5, 16}, 4, -3, 7));
  Var one(Tensor::full({16}, 1.0f)), zero(Tensor::zeros({16}));
  const auto y = ops::layer_norm(x, one, zero, 1e-5f).value().to_vector();
  for (int r = 0; r < 5; ++r) {
    double mean = 0, var = 0;
    for (int c = 0; c < 16; ++c) mean += y[r * 16 + c] / 16.0;
    for (int c = 0; c < 16; ++c) var += (y[r * 16 + c] - mean) * (y[r * 16 + c] - mean) / 16.0;
    EXPECT_NEAR(mean, 0.0, 1e-5);
    EXPECT_NEAR(var, 1.0, 1e-3);
  }
  // [1, 3]: mean 2, biased variance 2/3, with gain 2 and bias 1.
  Var row = constant({1, 3}, {1, 2, 3});
  Var gain(Tensor::full({3}, 2.0f)), bias(Tensor::full({3}, 1.0f));
  const double inv = 1.0 / std::sqrt(2.0 / 3.0 + 1e-5);
  expect_near(ops::layer_norm(row, gain, bias, 1e-5f).value().to_vector(),
              {1 - 2 * inv, 1, 1 + 2 * inv});
}

// Scaled dot-product attention on a 2x3 example, computed by hand in double.
TEST(AttentionValues, HandComputedTwoQueriesThreeKeys) {
  const std::vector<float> q = {1, 0, 0, 1}, k = {1, 0, 0, 1, 1, 1}, v = {1, 2, 3, 4, 5, 6};
  Var Q = constant({2, 2}, q), K = constant({3, 2}, k), V = constant({3, 2}, v);
  const float scale = 1.0f / std::sqrt(2.0f);
  Var weights = ops::softmax(ops::matmul(Q, K, false, true, scale));  // [2, 3]
  Var out = ops::matmul(weights, V);                                  // [2, 2]
  // Query 0 scores: [1, 0, 1] / sqrt(2); query 1: [0, 1, 1] / sqrt(2).
  const double e = std::exp(1 / std::sqrt(2.0));
  const double z = 2 * e + 1;
  expect_near(weights.value().to_vector(), {e / z, 1 / z, e / z, 1 / z, e / z, e / z});
  expect_near(out.value().to_vector(),
              {(1 * e + 3 + 5 * e) / z, (2 * e + 4 + 6 * e) / z, (1 + 3 * e + 5 * e) / z,
               (2 + 4 * e + 6 * e) / z});
  // A padding mask hiding key 2 leaves exactly zero weight on it.
  Var masked = ops::softmax(ops::add_constant(ops::matmul(Q, K, false, true, scale),
                                          Tensor::from_vector({1, 3}, {0, 0, -kInf})));
  const auto w = masked.value().to_vector();
  EXPECT_EQ(w[2], 0.0f);
  EXPECT_EQ(w[5], 0.0f);
  expect_near({w[0], w[1]}, {e / (e + 1), 1 / (e + 1)});
}

TEST(MaskValues, CausalMaskHidesTheFutureAndGetsNoGradient) {
  Tensor causal = Tensor::from_vector({3, 3}, {0, -kInf, -kInf, 0, 0, -kInf, 0, 0, 0});
  Var x(testing::random_tensor({3, 3}, 9), true);
  Var p = ops::softmax(ops::add_constant(x, causal));
  const auto w = p.value().to_vector();
  EXPECT_EQ(w[1], 0.0f);
  EXPECT_EQ(w[2], 0.0f);
  EXPECT_EQ(w[5], 0.0f);
  EXPECT_FLOAT_EQ(w[0], 1.0f);
  backward(ops::sum(ops::mul(p, Var(testing::random_tensor({3, 3}, 10)))));
  const auto g = x.grad().to_vector();
  EXPECT_EQ(g[1], 0.0f);
  EXPECT_EQ(g[2], 0.0f);
  EXPECT_EQ(g[5], 0.0f);
}

// oneDNN's log-softmax is accurate to a few f32 ulps of its inputs: 1e-5.
TEST(CrossEntropyValues, ClosedForms) {
  // Uniform logits: -log p = log V for every class, whatever the smoothing.
  Var flat(Tensor::zeros({2, 8}));
  EXPECT_NEAR(ops::cross_entropy(flat, {3, 5}, 0.1f).value().item(), std::log(8.0), 1e-5);
  // p = [1/4, 3/4], target 1.
  Var x = constant({1, 2}, {0, std::log(3.0f)});
  EXPECT_NEAR(ops::cross_entropy(x, {1}).value().item(), -std::log(0.75), 1e-5);
  const double smoothed = 0.9 * -std::log(0.75) + 0.05 * (-std::log(0.25) - std::log(0.75));
  EXPECT_NEAR(ops::cross_entropy(x, {1}, 0.1f).value().item(), smoothed, 1e-5);
  // An ignored row counts in neither the sum nor the mean.
  Var two = constant({2, 2}, {0, std::log(3.0f), 9, -9});
  EXPECT_NEAR(ops::cross_entropy(two, {1, 0}, 0.0f, 0).value().item(), -std::log(0.75), 1e-5);
  EXPECT_THROW(ops::cross_entropy(two, {0, 0}, 0.0f, 0), Error);
  EXPECT_THROW(ops::cross_entropy(two, {1, 7}), Error);
}

TEST(CrossEntropyValues, TokenLogProbabilitiesAreTheLogSoftmaxInDouble) {
  const Tensor logits = testing::random_tensor({3, 1000}, 61, -8.0f, 8.0f);
  const std::vector<int32_t> tokens = {0, 999, 417};
  const std::vector<float> got = ops::token_log_probabilities(logits, tokens);
  ASSERT_EQ(got.size(), 3u);
  for (int64_t r = 0; r < 3; ++r) {
    const float* x = logits.data() + r * 1000;
    double largest = x[0], sum = 0;
    for (int64_t v = 0; v < 1000; ++v) largest = std::max(largest, double(x[v]));
    for (int64_t v = 0; v < 1000; ++v) sum += std::exp(double(x[v]) - largest);
    EXPECT_NEAR(got[r], x[tokens[r]] - largest - std::log(sum), 1e-5) << "row " << r;
  }
  EXPECT_THROW(ops::token_log_probabilities(logits, {0, 1000, 2}), Error);  // outside the vocabulary
}

TEST(CrossEntropyValues, StableForHugeLogits) {
  Var x = constant({1, 3}, {1e4f, 0, -1e4f});
  const float loss = ops::cross_entropy(x, {0}).value().item();
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_NEAR(loss, 0.0, 1e-5);
}

// The loss sums do not depend on how rows are split between threads.
TEST(CrossEntropyValues, SumsAreTheSameForAnyThreadCount) {
  const Tensor logits = testing::random_tensor({997, 301}, 7);
  std::vector<int32_t> targets(997);
  for (size_t i = 0; i < targets.size(); ++i) targets[i] = static_cast<int32_t>((i * 37) % 301);
  std::vector<kernels::CrossEntropySums> sums;
  const int before = num_threads();
  for (const int threads : {1, 3, 4}) {
    set_num_threads(threads);
    Tensor probs = Tensor::empty({997, 301});
    sums.push_back(kernels::cross_entropy_forward(logits, targets, 0.1f, -1, probs));
  }
  set_num_threads(before);
  for (const auto& s : sums) {
    EXPECT_EQ(s.loss, sums[0].loss);  // bit for bit
    EXPECT_EQ(s.nll, sums[0].nll);
  }
}

// The fused op against the two ops it replaces, values and gradients, across chunk boundaries.
TEST(CrossEntropyValues, LinearCrossEntropyEqualsLinearThenCrossEntropy) {
  for (const bool with_bias : {false, true}) {
    Var h1(testing::random_tensor({600, 16}, 60), true), w1(testing::random_tensor({37, 16}, 61), true);
    Var b1(testing::random_tensor({37}, 62), true);
    Var h2(testing::random_tensor({600, 16}, 60), true), w2(testing::random_tensor({37, 16}, 61), true);
    Var b2(testing::random_tensor({37}, 62), true);
    std::vector<int32_t> targets(600);
    for (size_t i = 0; i < targets.size(); ++i) targets[i] = static_cast<int32_t>((i * 7) % 37);
    double nll1 = 0, nll2 = 0;
    Var fused = ops::linear_cross_entropy(h1, w1, with_bias ? b1 : Var(), targets, 0.1f, 5, &nll1);
    Var plain = ops::cross_entropy(ops::linear(h2, w2, with_bias ? b2 : Var()), targets, 0.1f, 5, &nll2);
    EXPECT_NEAR(fused.value().item(), plain.value().item(), 1e-5);
    EXPECT_NEAR(nll1, nll2, 1e-5);
    backward(fused, Tensor::scalar(0.5f));
    backward(plain, Tensor::scalar(0.5f));
    for (auto [a, b] : {std::pair{&h1, &h2}, {&w1, &w2}}) {
      const auto ga = a->grad().to_vector(), gb = b->grad().to_vector();
      for (size_t i = 0; i < ga.size(); ++i) ASSERT_NEAR(ga[i], gb[i], 1e-6) << i;
    }
    if (with_bias) {
      const auto ga = b1.grad().to_vector(), gb = b2.grad().to_vector();
      for (size_t i = 0; i < ga.size(); ++i) ASSERT_NEAR(ga[i], gb[i], 1e-6) << i;
    }
  }
}

// Vocabularies large enough that the kept logit gradients (at most 64 MB)
// hold only one chunk of 256 rows: three weight-gradient products, the last
// of 8 rows; in bf16 an odd vocabulary (rows of the kept gradients padded to
// start on a float). Against the two ops in the same precision: the same
// rounded operands, so only fp32 accumulation orders differ.
TEST(CrossEntropyValues, LinearCrossEntropyAcrossGroupsOfChunks) {
  for (const auto precision : {ops::Precision::fp32, ops::Precision::bf16}) {
    if (precision == ops::Precision::bf16 && ops::native_bf16_isa().empty()) continue;
    const ops::PrecisionScope scope(precision);
    SCOPED_TRACE(precision == ops::Precision::bf16 ? "bf16" : "fp32");
    const int64_t rows = 520, vocab = precision == ops::Precision::bf16 ? 70001 : 40000;
    std::vector<int32_t> targets(rows);
    for (int64_t i = 0; i < rows; ++i) targets[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7919) % vocab);
    Var h1(testing::random_tensor({rows, 8}, 63), true), w1(testing::random_tensor({vocab, 8}, 64), true);
    Var h2(testing::random_tensor({rows, 8}, 63), true), w2(testing::random_tensor({vocab, 8}, 64), true);
    Var fused = ops::linear_cross_entropy(h1, w1, Var(), targets, 0.1f, 3);
    Var plain = ops::cross_entropy(ops::linear(h2, w2, Var()), targets, 0.1f, 3);
    EXPECT_NEAR(fused.value().item(), plain.value().item(), 1e-5 * std::fabs(plain.value().item()));
    backward(fused);
    backward(plain);
    for (auto [a, b] : {std::pair{&h1, &h2}, {&w1, &w2}}) {
      const auto ga = a->grad().to_vector(), gb = b->grad().to_vector();
      float largest = 0;
      for (float v : gb) largest = std::max(largest, std::fabs(v));
      ASSERT_GT(largest, 0.0f);
      for (size_t i = 0; i < ga.size(); ++i) ASSERT_NEAR(ga[i], gb[i], 1e-5f * largest) << i;
    }
  }
}

TEST(DropoutValues, DropsAboutPAndScalesTheRest) {
  Var x(Tensor::full({100000}, 1.0f));
  Rng rng(11);
  const auto y = ops::dropout(x, 0.25f, rng).value().to_vector();
  int zeros = 0;
  for (float v : y) {
    if (v == 0.0f) ++zeros;
    else ASSERT_FLOAT_EQ(v, 1.0f / 0.75f);
  }
  EXPECT_NEAR(zeros / 100000.0, 0.25, 0.01);
  Rng again(11);
  EXPECT_EQ(ops::dropout(x, 0.25f, again).value().to_vector(), y);  // seeded
  Rng off(11);
  EXPECT_TRUE(ops::dropout(x, 0.0f, off).value().shares_storage_with(x.value()));
}

TEST(DropoutValues, MaskDoesNotDependOnThreadCount) {
  Var x(Tensor::full({4097}, 1.0f));
  const int threads = num_threads();
  set_num_threads(1);
  Rng a(5);
  const auto one = ops::dropout(x, 0.5f, a).value().to_vector();
  set_num_threads(2);
  Rng b(5);
  const auto two = ops::dropout(x, 0.5f, b).value().to_vector();
  set_num_threads(threads);
  EXPECT_EQ(one, two);
}

// An element's fate depends on the key and its index only: a shorter tensor
// (whose tail misses the 64-element blocks of the longer one) drops the same
// elements, and a probability off the 16-bit grid still drops about p.
TEST(DropoutValues, MaskDoesNotDependOnLength) {
  Var long_x(Tensor::full({4097}, 2.0f));
  Var short_x(Tensor::full({1000}, 2.0f));
  Rng a(9), b(9);
  const auto whole = ops::dropout(long_x, 0.1f, a).value().to_vector();
  const auto part = ops::dropout(short_x, 0.1f, b).value().to_vector();
  for (size_t i = 0; i < part.size(); ++i) ASSERT_EQ(part[i], whole[i]) << i;
  int zeros = 0;
  for (float v : whole) zeros += v == 0.0f;
  EXPECT_NEAR(zeros / 4097.0, 0.1, 0.015);
}

// The fused block against linear_relu -> dropout -> linear, in both
// precisions, with and without dropout: the same output and gradients bit
// for bit (but the first bias's gradient, summed another way), and the same
// draws. In bf16 with dropout the fused block rounds its hidden values z
// once more (after the 1 / (1 - p) scale): each may move by one bf16 step
// (2^-7 of it), so the output and the second weight's gradient, the only
// values that read z, may move by 2^-7 of their terms' absolute sum
// (|z| |W2|^T and |G|^T |z|), where a wrong mask or scale moves them by whole
// terms. The gradients behind the hidden layer stay exact.
TEST(FeedForwardValues, TheFusedBlockIsTheOpsApart) {
  constexpr int64_t kRows = 37 * 3, kIn = 16, kHidden = 96;
  for (const auto precision : {ops::Precision::fp32, ops::Precision::bf16})
    for (const float p : {0.0f, 0.25f}) {
      const ops::PrecisionScope scope(precision);
      const bool rounded_twice = precision == ops::Precision::bf16 && p > 0.0f;
      SCOPED_TRACE(::testing::Message() << (precision == ops::Precision::bf16 ? "bf16" : "fp32") << " p " << p);
      const Tensor g = testing::random_tensor({37, 3, kIn}, 87);
      const Tensor w2_values = testing::random_tensor({kIn, kHidden}, 84, -0.5f, 0.5f);
      std::vector<float> hidden;  // z as the ops apart make it
      auto run = [&](bool fused, std::vector<std::vector<float>>& values) {
        // 37 x 3 rows of 96 units: rows cross the mask's 64-element blocks.
        Var x(testing::random_tensor({37, 3, kIn}, 81), true);
        Var w1(testing::random_tensor({kHidden, kIn}, 82, -0.5f, 0.5f), true);
        Var b1(testing::random_tensor({kHidden}, 83), true);
        Var w2(testing::random_tensor({kIn, kHidden}, 84, -0.5f, 0.5f), true), b2(testing::random_tensor({kIn}, 85), true);
        Rng rng(86);
        Var y;
        if (fused) {
          y = ops::feed_forward_relu(x, w1, b1, w2, b2, p, &rng);
        } else {
          const Var z = ops::dropout(ops::linear_relu(x, w1, b1), p, rng);
          hidden = z.value().to_vector();
          y = ops::linear(z, w2, b2);
        }
        const uint64_t next_draw = rng.next_u64();
        backward(ops::sum(ops::mul(y, Var(g))));
        values = {y.value().to_vector(),  x.grad().to_vector(),  w1.grad().to_vector(),
                  b1.grad().to_vector(), w2.grad().to_vector(), b2.grad().to_vector(),
                  {static_cast<float>(next_draw % 1000003)}};
      };
      std::vector<std::vector<float>> fused, apart;
      run(true, fused);
      run(false, apart);
      // One bf16 step of each hidden value, through the products that read it.
      auto step_bound = [&](size_t value, size_t j) {
        const float* gv = g.data();
        const float* w = w2_values.data();
        float sum = 0;
        if (value == 0) {  // y[r, i] = sum_h z[r, h] w2[i, h]
          const int64_t r = static_cast<int64_t>(j) / kIn, i = static_cast<int64_t>(j) % kIn;
          for (int64_t h = 0; h < kHidden; ++h) sum += std::abs(hidden[r * kHidden + h] * w[i * kHidden + h]);
        } else {  // dw2[i, h] = sum_r g[r, i] z[r, h]
          const int64_t i = static_cast<int64_t>(j) / kHidden, h = static_cast<int64_t>(j) % kHidden;
          for (int64_t r = 0; r < kRows; ++r) sum += std::abs(gv[r * kIn + i] * hidden[r * kHidden + h]);
        }
        return sum / 128 + 1e-6f;
      };
      for (size_t i = 0; i < fused.size(); ++i) {
        ASSERT_EQ(fused[i].size(), apart[i].size());
        for (size_t j = 0; j < fused[i].size(); ++j) {
          SCOPED_TRACE(::testing::Message() << "value " << i << " element " << j);
          if ((i == 0 || i == 4) && rounded_twice) ASSERT_NEAR(fused[i][j], apart[i][j], step_bound(i, j));
          // Both sum the bias gradient in fp32, in bf16 too (its terms are not rounded), in another order.
          else if (i == 3) ASSERT_NEAR(fused[i][j], apart[i][j], 1e-5f * (1.0f + std::abs(apart[i][j])));
          else ASSERT_EQ(fused[i][j], apart[i][j]);
        }
      }
    }
}

// Attention's products over projections whose heads are views, against
// splitting the heads with reshape and permute, matmul, and merging them
// again, in both precisions: the same values and gradients (one product
// each, the same operands).
TEST(AttentionProductsValues, AreTheProductsWithHeadsSplitAndMerged) {
  for (const auto precision : {ops::Precision::fp32, ops::Precision::bf16}) {
    const ops::PrecisionScope scope(precision);
    SCOPED_TRACE(precision == ops::Precision::bf16 ? "bf16" : "fp32");
    auto split = [](const Var& x) { return ops::permute(ops::reshape(x, {3, x.shape()[1], 4, 16}), {0, 2, 1, 3}); };
    auto run = [&](bool by_views, std::vector<std::vector<float>>& grads) {
      Var q(testing::random_tensor({3, 7, 64}, 111), true), k(testing::random_tensor({3, 9, 64}, 112), true);
      Var v(testing::random_tensor({3, 9, 64}, 113), true);
      Var scores = by_views ? ops::attention_scores(q, k, 4, 0.25f) : ops::matmul(split(q), split(k), false, true, 0.25f);
      EXPECT_EQ(scores.shape(), (Shape{3, 4, 7, 9}));
      Var p = ops::softmax(scores);
      Var y = by_views ? ops::attention_context(p, v, 4)
                       : ops::reshape(ops::permute(ops::matmul(p, split(v)), {0, 2, 1, 3}), {3, 7, 64});
      EXPECT_EQ(y.shape(), (Shape{3, 7, 64}));
      backward(ops::sum(ops::mul(y, Var(testing::random_tensor({3, 7, 64}, 114)))));
      grads = {q.grad().to_vector(), k.grad().to_vector(), v.grad().to_vector()};
      return y.value().to_vector();
    };
    std::vector<std::vector<float>> fused_grads, apart_grads;
    const auto fused = run(true, fused_grads), apart = run(false, apart_grads);
    ASSERT_EQ(fused.size(), apart.size());
    for (size_t j = 0; j < fused.size(); ++j) ASSERT_NEAR(fused[j], apart[j], 1e-5f * (1.0f + std::abs(apart[j])));
    for (size_t i = 0; i < 3; ++i) {
      ASSERT_EQ(fused_grads[i].size(), apart_grads[i].size());
      for (size_t j = 0; j < fused_grads[i].size(); ++j)
        ASSERT_NEAR(fused_grads[i][j], apart_grads[i][j], 1e-5f * (1.0f + std::abs(apart_grads[i][j]))) << i;
    }
  }
}

TEST(AttentionProductsValues, BadShapesNameTheOperand) {
  const Var q(testing::random_tensor({2, 3, 8}, 115)), k(testing::random_tensor({2, 5, 6}, 116));
  EXPECT_THROW(
      {
        try {
          ops::attention_scores(q, k, 3, 1.0f);
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("q must be [B, T, H * Dh] for 3 heads"), std::string::npos) << e.what();
          throw;
        }
      },
      Error);
  EXPECT_THROW(ops::attention_scores(q, k, 2, 1.0f), Error);  // widths differ
  EXPECT_THROW(ops::attention_context(Var(testing::random_tensor({2, 2, 3, 4}, 117)), k, 2), Error);  // S 4 != 5
}

// The fused end of a post-norm block against dropout -> add -> oneDNN's
// layer norm: the same draw and mask, values and gradients within fp32
// rounding of the statistics (oneDNN sums in another order).
TEST(ResidualLayerNormValues, TheFusedOpIsTheOpsApart) {
  for (const float p : {0.0f, 0.25f}) {
    SCOPED_TRACE(p);
    auto run = [p](bool fused, std::vector<std::vector<float>>& grads) {
      // 37 x 3 rows of 96: rows cross the mask's 64-element blocks; 111 rows cross a gradient group.
      Var x(testing::random_tensor({37, 3, 96}, 91), true), h(testing::random_tensor({37, 3, 96}, 92), true);
      Var gain(testing::random_tensor({96}, 93, 0.5f, 1.5f), true), bias(testing::random_tensor({96}, 94), true);
      Rng rng(95);
      Var y = fused ? ops::residual_layer_norm(x, h, p, &rng, gain, bias)
                    : ops::layer_norm(ops::add(x, p > 0.0f ? ops::dropout(h, p, rng) : h), gain, bias);
      const uint64_t next_draw = rng.next_u64();
      backward(ops::sum(ops::mul(y, Var(testing::random_tensor(y.shape(), 96)))));
      grads = {x.grad().to_vector(), h.grad().to_vector(), gain.grad().to_vector(), bias.grad().to_vector(),
               {static_cast<float>(next_draw % 1000003)}};
      return y.value().to_vector();
    };
    std::vector<std::vector<float>> fused_grads, apart_grads;
    const auto fused = run(true, fused_grads);
    const auto apart = run(false, apart_grads);
    ASSERT_EQ(fused.size(), apart.size());
    for (size_t j = 0; j < fused.size(); ++j) ASSERT_NEAR(fused[j], apart[j], 2e-5f * (1.0f + std::abs(apart[j])));
    int zeros = 0;
    for (size_t i = 0; i < fused_grads.size(); ++i) {
      ASSERT_EQ(fused_grads[i].size(), apart_grads[i].size());
      for (size_t j = 0; j < fused_grads[i].size(); ++j) {
        // The gain and bias gradients add 111 rows: a looser bound.
        const float tol = (i == 2 || i == 3 ? 1e-4f : 2e-5f) * (1.0f + std::abs(apart_grads[i][j]));
        ASSERT_NEAR(fused_grads[i][j], apart_grads[i][j], tol) << "gradient " << i << " element " << j;
        if (i == 1) zeros += fused_grads[i][j] == 0.0f;
      }
    }
    // The sublayer's gradient is zero exactly where the mask dropped an element.
    EXPECT_NEAR(zeros / static_cast<double>(fused_grads[1].size()), p, 0.03);
  }
}

// Rows go to threads independently and the gain and bias gradients add in a
// fixed order: one thread and two give the same bits.
TEST(ResidualLayerNormValues, TheSameBitsOnOneThreadAndTwo) {
  auto run = [](int threads) {
    omp_set_num_threads(threads);
    Var x(testing::random_tensor({70, 64}, 101), true), h(testing::random_tensor({70, 64}, 102), true);
    Var gain(testing::random_tensor({64}, 103), true), bias(testing::random_tensor({64}, 104), true);
    Rng rng(105);
    Var y = ops::residual_layer_norm(x, h, 0.1f, &rng, gain, bias);
    backward(ops::sum(ops::mul(y, Var(testing::random_tensor(y.shape(), 106)))));
    return std::vector<std::vector<float>>{y.value().to_vector(), x.grad().to_vector(), h.grad().to_vector(),
                                           gain.grad().to_vector(), bias.grad().to_vector()};
  };
  const int before = omp_get_max_threads();
  const auto one = run(1), two = run(2);
  omp_set_num_threads(before);
  EXPECT_EQ(one, two);
}

TEST(EmbeddingValues, GathersRowsAndSkipsThePaddingRowGradient) {
  Var table(Tensor::from_vector({3, 2}, {0, 0, 1, 2, 3, 4}), true);
  Var out = ops::embedding(table, {2, 0, 1, 2}, {2, 2}, 0);
  EXPECT_EQ(out.shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(out.value().to_vector(), (std::vector<float>{3, 4, 0, 0, 1, 2, 3, 4}));
  backward(ops::sum(out));
  EXPECT_EQ(table.grad().to_vector(), (std::vector<float>{0, 0, 1, 1, 2, 2}));
  EXPECT_THROW(ops::embedding(table, {3}, {1}), Error);
  EXPECT_THROW(ops::embedding(table, {-1}, {1}), Error);
}

TEST(IndexedAttention, MatchesSoftmaxAttentionComputedInDouble) {
  // 3 query rows, 2 heads of width 4, a cache of 5 rows; each row reads its own picks.
  const int64_t rows = 3, heads = 2, d = 8, stride = 4, length = 3;
  const Tensor q = testing::random_tensor({rows, d}, 11, -2.0f, 2.0f);
  const Tensor keys = testing::random_tensor({5, d}, 12, -2.0f, 2.0f);
  const Tensor values = testing::random_tensor({5, d}, 13);
  const std::vector<int32_t> index = {4, 0, 2, -7, 1, 1, 3, -7, 0, 4, 4, -7};  // -7: past length, never read
  const float scale = 0.5f;
  const Tensor out = ops::indexed_attention(q, keys, values, index, stride, length, heads, scale);
  ASSERT_EQ(out.shape(), (Shape{rows, d}));
  for (int64_t b = 0; b < rows; ++b)
    for (int64_t h = 0; h < heads; ++h) {
      std::vector<double> w(length);
      double total = 0;
      for (int64_t p = 0; p < length; ++p) {
        double dot = 0;
        for (int64_t e = 0; e < 4; ++e)
          dot += double(q.data()[b * d + h * 4 + e]) * keys.data()[index[b * stride + p] * d + h * 4 + e];
        total += w[p] = std::exp(scale * dot);
      }
      for (int64_t e = 0; e < 4; ++e) {
        double expected = 0;
        for (int64_t p = 0; p < length; ++p) expected += w[p] / total * values.data()[index[b * stride + p] * d + h * 4 + e];
        EXPECT_NEAR(out.data()[b * d + h * 4 + e], expected, 1e-6) << "row " << b << " head " << h;
      }
    }
  // Equal keys spread the weight evenly: the mean of the picked values.
  const Tensor same_keys = Tensor::full({5, d}, 0.3f);
  const Tensor mean = ops::indexed_attention(q, same_keys, values, index, stride, 2, heads, scale);
  EXPECT_NEAR(mean.data()[0], (values.data()[4 * d] + values.data()[0]) / 2, 1e-6);
  const std::vector<int32_t> outside = {5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_THROW(ops::indexed_attention(q, keys, values, outside, stride, length, heads, scale), Error);
  EXPECT_THROW(ops::indexed_attention(q, keys, values, index, stride, length, 3, scale), Error);  // 8 % 3 heads
  EXPECT_THROW(ops::indexed_attention(q, keys, values, {0, 1}, stride, length, heads, scale), Error);  // short index
}

TEST(IndexedAttention, ReadsQueriesWithARowStride) {
  // The decoder's step hands over the Q third of a stacked [B, 3D] product.
  const int64_t rows = 2, heads = 2, d = 4, stride = 3, length = 2;
  const Tensor stacked = testing::random_tensor({rows, 3 * d}, 21, -1.0f, 1.0f);
  const Tensor keys = testing::random_tensor({3, d}, 22), values = testing::random_tensor({3, d}, 23);
  const std::vector<int32_t> index = {2, 0, -1, 1, 2, -1};
  const Tensor strided = ops::indexed_attention(stacked.narrow(1, 0, d), keys, values, index, stride, length, heads, 0.7f);
  const Tensor packed =
      ops::indexed_attention(ops::contiguous(stacked.narrow(1, 0, d)), keys, values, index, stride, length, heads, 0.7f);
  EXPECT_EQ(strided.to_vector(), packed.to_vector());
  // Another third gives another answer: the stride is read, not ignored.
  EXPECT_NE(strided.to_vector(),
            ops::indexed_attention(stacked.narrow(1, d, d), keys, values, index, stride, length, heads, 0.7f).to_vector());
}

TEST(StackedLinear, EqualsTheLinearLayersSideBySideInAndOutOfAFrozenScope) {
  const Tensor x = testing::random_tensor({3, 4}, 41);
  const std::vector<Tensor> weights = {testing::random_tensor({2, 4}, 42), testing::random_tensor({5, 4}, 43)};
  const std::vector<Tensor> biases = {testing::random_tensor({2}, 44), testing::random_tensor({5}, 45)};
  std::vector<double> expected;  // in double, row by row: [x W0^T + b0 | x W1^T + b1]
  for (int64_t r = 0; r < 3; ++r)
    for (size_t i = 0; i < weights.size(); ++i)
      for (int64_t o = 0; o < weights[i].dim(0); ++o) {
        double sum = biases[i].data()[o];
        for (int64_t k = 0; k < 4; ++k) sum += double(x.data()[r * 4 + k]) * weights[i].data()[o * 4 + k];
        expected.push_back(sum);
      }
  expect_near(ops::stacked_linear(x, weights, biases).to_vector(), expected, 1e-5);
  {
    const ops::FrozenWeightsScope frozen;  // the stacked copy made once and reused
    expect_near(ops::stacked_linear(x, weights, biases).to_vector(), expected, 1e-5);
    expect_near(ops::stacked_linear(x, weights, biases).to_vector(), expected, 1e-5);
    std::vector<double> second;  // linear() on one weight takes the same kept layout
    for (int64_t r = 0; r < 3; ++r) second.insert(second.end(), expected.begin() + r * 7 + 2, expected.begin() + r * 7 + 7);
    expect_near(ops::linear(Var(x), Var(weights[1]), Var(biases[1])).value().to_vector(), second, 1e-5);
  }
  EXPECT_THROW(ops::stacked_linear(x, weights, {biases[0]}), Error);
  EXPECT_THROW(ops::stacked_linear(x.narrow(1, 0, 3), weights, biases), Error);
}

// In a frozen-weights scope oneDNN multiplies by copies of the weights in the
// layout it chose (blocked for its dot products): the same products as the
// transposed weights outside a scope, at the decoder's row counts, in both
// precisions, made once and reused.
TEST(FrozenWeights, LaidOutCopiesGiveTheProductsOfTheWeights) {
  const Tensor w = testing::random_tensor({300, 256}, 51);  // [Out, In]
  for (const ops::Precision precision : {ops::Precision::fp32, ops::Precision::bf16}) {
    if (precision == ops::Precision::bf16 && ops::native_bf16_isa().empty()) continue;
    const ops::PrecisionScope scope(precision);
    for (const int64_t rows : {1, 7, 32}) {
      const Tensor x = testing::random_tensor({rows, 256}, 52 + rows);
      const auto product = [&] {
        Tensor y = Tensor::empty({rows, 300});
        kernels::matmul(kernels::MatmulOperand(x), kernels::MatmulOperand::transposed_weights({w}), y);
        return y.to_vector();
      };
      const std::vector<float> outside = product();
      std::vector<float> first, again;
      {
        const ops::FrozenWeightsScope frozen;
        first = product();
        again = product();
      }
      EXPECT_EQ(first, again) << "rows " << rows;
      std::vector<double> expected(outside.begin(), outside.end());
      expect_near(first, expected, 1e-4);  // the same bf16 or fp32 products, summed in another order at most
      if (precision == ops::Precision::fp32)
        for (int64_t o : {0, 150, 299}) {
          double sum = 0;
          for (int64_t k = 0; k < 256; ++k) sum += double(x.data()[(rows - 1) * 256 + k]) * w.data()[o * 256 + k];
          EXPECT_NEAR(first[(rows - 1) * 300 + o], sum, 1e-4) << "rows " << rows << " output " << o;
        }
    }
  }
}

// Decoding streams share the frozen weights: two threads meeting a weight
// at once make one copy in oneDNN's layout (one waits for the other) and
// both get the product a lone thread gets.
TEST(FrozenWeights, TwoThreadsAtFirstUseGetTheSameProducts) {
  const Tensor w = testing::random_tensor({200, 256}, 71);
  const Tensor x = testing::random_tensor({16, 256}, 72);
  const auto product = [&] {
    Tensor y = Tensor::empty({16, 200});
    kernels::matmul(kernels::MatmulOperand(x), kernels::MatmulOperand::transposed_weights({w}), y);
    return y.to_vector();
  };
  std::vector<float> alone;
  {
    const ops::FrozenWeightsScope frozen;
    std::thread lone([&] {
      set_num_threads(1);  // as each of the two below
      alone = product();
    });
    lone.join();
  }
  for (int round = 0; round < 4; ++round) {
    const ops::FrozenWeightsScope frozen;  // a new scope: the copies are made again, by both threads at once
    std::vector<float> first, second;
    std::thread a([&] {
      set_num_threads(1);
      first = product();
    });
    std::thread b([&] {
      set_num_threads(1);
      second = product();
    });
    a.join();
    b.join();
    EXPECT_EQ(first, alone) << "round " << round;
    EXPECT_EQ(second, alone) << "round " << round;
  }
}

TEST(MemoryAttention, MatchesMaskedSoftmaxAttentionComputedInDouble) {
  // 2 sentences of 3 source positions, 2 heads of width 3, 2 query rows per sentence (beams).
  const int64_t sentences = 2, group = 2, heads = 2, length = 3, dh = 3, d = heads * dh;
  const Tensor q = testing::random_tensor({sentences * group, d}, 31, -2.0f, 2.0f);
  const Tensor keys = testing::random_tensor({sentences, heads, length, dh}, 32, -2.0f, 2.0f);
  const Tensor values = testing::random_tensor({sentences, heads, length, dh}, 33);
  const Tensor mask = Tensor::from_vector({sentences, 1, 1, length}, {0, 0, 0, 0, 0, -kInf});  // sentence 1: 2 positions
  const float scale = 0.4f;
  const Tensor out = ops::memory_attention(q, keys, values, mask, group, scale);
  ASSERT_EQ(out.shape(), (Shape{sentences * group, d}));
  for (int64_t b = 0; b < sentences * group; ++b)
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t n = b / group, visible = n == 0 ? 3 : 2;
      std::vector<double> w(length, 0.0);
      double total = 0;
      for (int64_t s = 0; s < visible; ++s) {
        double dot = 0;
        for (int64_t e = 0; e < dh; ++e)
          dot += double(q.data()[b * d + h * dh + e]) * keys.data()[((n * heads + h) * length + s) * dh + e];
        total += w[s] = std::exp(scale * dot);
      }
      for (int64_t e = 0; e < dh; ++e) {
        double expected = 0;
        for (int64_t s = 0; s < visible; ++s) expected += w[s] / total * values.data()[((n * heads + h) * length + s) * dh + e];
        EXPECT_NEAR(out.data()[b * d + h * dh + e], expected, 1e-6) << "row " << b << " head " << h;
      }
    }
  Tensor weights;
  EXPECT_EQ(ops::memory_attention(q, keys, values, mask, group, scale, &weights).to_vector(), out.to_vector());
  ASSERT_EQ(weights.shape(), (Shape{sentences, heads, group, length}));
  for (int64_t row = 0; row < sentences * heads * group; ++row) {
    const float* w = weights.data() + row * length;
    EXPECT_NEAR(w[0] + w[1] + w[2], 1.0f, 1e-6);
    if (row >= heads * group) {
      EXPECT_EQ(w[2], 0.0f) << "sentence 1 has no third position";
    }
  }
  EXPECT_THROW(ops::memory_attention(q, keys, values, mask, 3, scale), Error);  // 4 rows are not 2 groups of 3
  EXPECT_THROW(ops::memory_attention(q.narrow(1, 0, 4), keys, values, mask, group, scale), Error);  // width 4 != 6
}

TEST(ReduceValues, SumMeanAndAxis) {
  Var x = constant({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_FLOAT_EQ(ops::sum(x).value().item(), 21);
  EXPECT_FLOAT_EQ(ops::mean(x).value().item(), 3.5);
  EXPECT_EQ(ops::sum(x, 0).value().to_vector(), (std::vector<float>{5, 7, 9}));
  EXPECT_EQ(ops::sum(x, -1, true).shape(), (Shape{2, 1}));
  EXPECT_EQ(ops::sum(x, -1).value().to_vector(), (std::vector<float>{6, 15}));
}

TEST(LayoutValues, ReshapeNarrowPermute) {
  Var x = constant({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(ops::reshape(ops::transpose(x, 0, 1), {6}).value().to_vector(),
            (std::vector<float>{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(ops::narrow(x, 1, 2, 1).value().to_vector(), (std::vector<float>{3, 6}));
  EXPECT_TRUE(ops::contiguous(ops::permute(x, {1, 0})).value().is_contiguous());
}

TEST(PrimitiveCache, ReusesPrimitivesForARepeatedShape) {
  Var a(testing::random_tensor({13, 7}, 1)), b(testing::random_tensor({7, 5}, 2));
  ops::matmul(a, b);
  const size_t after_first = kernels::dnnl_ctx::cache_misses();
  const double seconds_after_first = engine_stats().primitive_seconds;
  for (int i = 0; i < 5; ++i) ops::matmul(a, b);
  EXPECT_EQ(kernels::dnnl_ctx::cache_misses(), after_first);  // built once
  EXPECT_EQ(engine_stats().primitive_seconds, seconds_after_first);  // and no time spent making it again
  ops::matmul(a, Var(testing::random_tensor({7, 6}, 3)));
  EXPECT_EQ(kernels::dnnl_ctx::cache_misses(), after_first + 1);
  EXPECT_GT(engine_stats().primitive_seconds, seconds_after_first);  // a new shape's creation is timed
  EXPECT_LE(kernels::dnnl_ctx::cache_size(), 256u);  // bounded
}

// The products' arithmetic is counted where it runs: 2 M N K a product,
// batch extents multiplied in; a linear's forward and backward are three
// products of its shape (dX, dW), and other ops add nothing.
TEST(EngineStats, CountsTheProductsFlops) {
  const int64_t before = engine_stats().product_flops;
  Var a(testing::random_tensor({13, 7}, 1)), b(testing::random_tensor({7, 5}, 2));
  ops::matmul(a, b);
  EXPECT_EQ(engine_stats().product_flops - before, 2 * 13 * 7 * 5);
  const int64_t batched = engine_stats().product_flops;
  ops::matmul(Var(testing::random_tensor({3, 2, 4, 6}, 3)), Var(testing::random_tensor({3, 2, 6, 5}, 4)));
  EXPECT_EQ(engine_stats().product_flops - batched, 2 * 3 * 2 * 4 * 6 * 5);
  Var x(testing::random_tensor({11, 8}, 5), true), w(testing::random_tensor({9, 8}, 6), true);
  const int64_t linear_start = engine_stats().product_flops;
  Var y = ops::linear(x, w, Var());
  ops::relu(y);  // not a product
  backward(y, testing::random_tensor({11, 9}, 7));
  EXPECT_EQ(engine_stats().product_flops - linear_start, 3 * 2 * 11 * 8 * 9);
}

// Values baked into primitives that print alike to 6 decimals must not share one.
TEST(PrimitiveCache, KeysTellApartValuesThatPrintAlike) {
  const Tensor x = Tensor::full({2, 3}, 1.0f), a = Tensor::full({2, 2}, 1.0f), b = Tensor::full({2, 2}, 1.0f);
  for (const float alpha : {1e-7f, 3e-7f}) {  // both "0.000000"
    Tensor y = Tensor::empty({2, 3});
    kernels::affine(x, alpha, 0.0f, y);
    EXPECT_FLOAT_EQ(y.data()[0], alpha);
    Tensor c = Tensor::empty({2, 2});
    kernels::matmul(a, b, c, {.alpha = alpha});
    EXPECT_FLOAT_EQ(c.data()[0], 2 * alpha);
  }
  // Layer norm of [0, 2e-3]: mean 1e-3, variance 1e-6, so y[1] = 1e-3 / sqrt(1e-6 + eps).
  const Tensor row = Tensor::from_vector({1, 2}, {0.0f, 2e-3f}), gain = Tensor::full({2}, 1.0f), bias = Tensor::full({2}, 0.0f);
  for (const float eps : {1e-7f, 4e-7f}) {
    Tensor y = Tensor::empty({1, 2}), mean = Tensor::empty({1}), variance = Tensor::empty({1});
    kernels::layer_norm_forward(row, gain, bias, eps, y, mean, variance);
    EXPECT_NEAR(y.data()[1], 1e-3 / std::sqrt(1e-6 + static_cast<double>(eps)), 1e-4);
  }
}

TEST(PrimitiveCache, ReserveRaisesTheBound) {
  if (std::getenv("ROSETTA_PRIMITIVE_CACHE")) GTEST_SKIP() << "ROSETTA_PRIMITIVE_CACHE fixes the bound";
  reserve_primitive_cache(300);
  for (int64_t rows = 1; rows <= 290; ++rows) {  // 290 shapes: one primitive each
    const Tensor x = Tensor::full({rows, 3}, 1.0f);
    Tensor y = Tensor::empty({rows, 3});
    kernels::affine(x, 2.0f, 1.0f, y);
    ASSERT_EQ(y.data()[0], 3.0f);
  }
  EXPECT_GT(kernels::dnnl_ctx::cache_size(), 256u);
  EXPECT_LE(kernels::dnnl_ctx::cache_size(), 300u);
}

}  // namespace
}  // namespace rosetta
