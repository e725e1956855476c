// bf16 matmuls against fp32 within bf16's stated tolerance, and training in
// bf16 that still resumes bit for bit. Gradient checks stay in fp32
// (gradcheck_test.cpp); these tests are what bf16 is held to.
//
// Tolerance: each input is rounded to the nearest bf16 (8 significant bits,
// relative error <= 2^-9), so each product a_ik * b_kj is within
// (2^-8 + 2^-18) of the exact one, and fp32 accumulation adds at most
// K * 2^-24 of the sum of magnitudes: |c_bf16 - c_fp32| <= (2^-8 + K * 2^-23) * sum_k |a_ik| |b_kj|.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/kernels.h"
#include "rosetta/error.h"
#include "rosetta/ops/ops.h"
#include "rosetta/ops/precision.h"
#include "rosetta/tensor/random.h"
#include "rosetta/tensor/threads.h"
#include "testing/gradcheck.h"

namespace rosetta {
namespace {

bool have_bf16() { return !ops::native_bf16_isa().empty(); }

// c = a @ b with both precisions; checks the bound element by element and
// that bf16 really ran (some element differs).
void expect_within_bf16_bound(const Tensor& a, const Tensor& b, const kernels::MatmulOptions& options = {}) {
  const int64_t m = a.dim(-2), k = a.dim(-1), n = b.dim(-1);
  Tensor c32 = Tensor::full({m, n}, 0.5f), c16 = Tensor::full({m, n}, 0.5f);
  {
    ops::PrecisionScope fp32(ops::Precision::fp32);
    kernels::matmul(a, b, c32, options);
  }
  {
    ops::PrecisionScope bf16(ops::Precision::bf16);
    kernels::matmul(a, b, c16, options);
  }
  const std::vector<float> va = kernels::contiguous(a).to_vector(), vb = kernels::contiguous(b).to_vector();
  double max_diff = 0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double magnitude = 0;
      for (int64_t q = 0; q < k; ++q) magnitude += std::fabs(va[i * k + q] * vb[q * n + j]);
      const double bound = (std::ldexp(1.0, -8) + k * std::ldexp(1.0, -23)) * std::fabs(options.alpha) * magnitude + 1e-6;
      const double diff = std::fabs(c16.data()[i * n + j] - c32.data()[i * n + j]);
      ASSERT_LE(diff, bound) << "at " << i << "," << j;
      max_diff = std::max(max_diff, diff);
    }
  EXPECT_GT(max_diff, 0.0) << "bf16 gave fp32's exact result: the bf16 path did not run";
}

// Rounding to nearest, ties to even, on bit patterns worked out by hand.
TEST(Bf16Rounding, NearestTiesToEvenInfAndNan) {
  const std::vector<float> in = {1.0f, 1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-7f + 0x1p-8f, -2.5f,
                                 std::numeric_limits<float>::infinity(), std::numeric_limits<float>::max(),
                                 std::numeric_limits<float>::quiet_NaN(), 0.0f, -0.0f};
  const std::vector<uint16_t> expected = {0x3f80, 0x3f80 /* tie: even */, 0x3f82, 0x3f82 /* tie: up to even */,
                                          0xc020, 0x7f80, 0x7f80 /* rounds to inf */, 0, 0x0000, 0x8000};
  std::vector<uint16_t> out(in.size());
  kernels::round_to_bf16(in.data(), out.data(), static_cast<int64_t>(in.size()));
  for (size_t i = 0; i < in.size(); ++i) {
    if (std::isnan(in[i])) {
      EXPECT_EQ(out[i] & 0x7f80, 0x7f80);
      EXPECT_NE(out[i] & 0x7f, 0) << "NaN must stay NaN";
    } else {
      EXPECT_EQ(out[i], expected[i]) << "input " << in[i];
    }
  }
}

TEST(Bf16Matmul, PlainAndTransposedOperandsWithinTheBound) {
  if (!have_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  const Tensor a = testing::random_tensor({37, 300}, 1), b = testing::random_tensor({300, 53}, 2);
  expect_within_bf16_bound(a, b);
  const Tensor at = testing::random_tensor({300, 37}, 3), bt = testing::random_tensor({53, 300}, 4);
  expect_within_bf16_bound(at.transpose(0, 1), bt.transpose(0, 1));  // strided views, as the backward passes them
  expect_within_bf16_bound(a, b, {.alpha = 0.125f});
}

TEST(Bf16Matmul, BiasAndAccumulateStayFp32) {
  if (!have_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  const Tensor a = testing::random_tensor({16, 64}, 5), b = testing::random_tensor({64, 24}, 6);
  const Tensor bias = testing::random_tensor({24}, 7);
  expect_within_bf16_bound(a, b, {.bias = &bias});
  expect_within_bf16_bound(a, b, {.accumulate = true});
  // The bias itself is added in fp32: with a zero product the output is the bias exactly.
  Tensor c = Tensor::empty({16, 24});
  ops::PrecisionScope bf16(ops::Precision::bf16);
  kernels::matmul(Tensor::zeros({16, 64}), b, c, {.bias = &bias});
  for (int64_t j = 0; j < 24; ++j) EXPECT_EQ(c.data()[j], bias.data()[j]);
}

TEST(Precision, AutoPicksBf16OnlyWithNativeSupportAndSaysWhy) {
  std::string why;
  EXPECT_EQ(ops::resolve_precision("fp32", &why), ops::Precision::fp32);
  EXPECT_EQ(ops::resolve_precision("bf16", &why), ops::Precision::bf16);
  const ops::Precision automatic = ops::resolve_precision("auto", &why);
  EXPECT_EQ(automatic, have_bf16() ? ops::Precision::bf16 : ops::Precision::fp32);
  EXPECT_NE(why.find(have_bf16() ? ops::native_bf16_isa() : "no native bf16"), std::string::npos) << why;
  EXPECT_THROW(ops::resolve_precision("fp16"), Error);
}

// The rounded copy a layer norm attaches to its output: bit for bit what
// rounding the output gives (round_to_bf16, checked by hand above), carried
// through a reshape, and only in bf16.
TEST(Bf16Copy, LayerNormsAttachTheirOutputRounded) {
  if (!have_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  const Var x(testing::random_tensor({3, 7, 64}, 11), true), h(testing::random_tensor({3, 7, 64}, 12), true);
  const Var gain(testing::random_tensor({64}, 13), true), bias(testing::random_tensor({64}, 14), true);
  auto expect_rounded = [](const Var& v) {
    ASSERT_TRUE(v.bf16_copy().defined());
    std::vector<uint16_t> expected(static_cast<size_t>(v.value().numel()));
    kernels::round_to_bf16(v.value().data(), expected.data(), v.value().numel());
    const auto* copy = reinterpret_cast<const uint16_t*>(v.bf16_copy().data());
    for (size_t i = 0; i < expected.size(); ++i) ASSERT_EQ(copy[i], expected[i]) << "at " << i;
  };
  Rng rng(5);
  {
    ops::PrecisionScope bf16(ops::Precision::bf16);
    const Var post = ops::residual_layer_norm(x, h, 0.25f, &rng, gain, bias);
    expect_rounded(post);
    expect_rounded(ops::layer_norm(x, gain, bias));
    const Var rows = ops::reshape(post, {-1, 64});
    expect_rounded(rows);
    EXPECT_EQ(rows.bf16_copy().data(), post.bf16_copy().data()) << "a reshape shares the copy";
    EXPECT_FALSE(ops::add(post, post).bf16_copy().defined());
  }
  ops::PrecisionScope fp32(ops::Precision::fp32);
  EXPECT_FALSE(ops::residual_layer_norm(x, h, 0.25f, &rng, gain, bias).bf16_copy().defined());
  EXPECT_FALSE(ops::layer_norm(x, gain, bias).bf16_copy().defined());
}

// Values and gradients of the products that read a value: the same bit for
// bit whether they take its attached copy or round the value themselves
// (300 rows: the loss's second chunk of 256 starts inside the copy).
TEST(Bf16Copy, ProductsReadingTheCopyGiveWhatRoundingGives) {
  if (!have_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  ops::PrecisionScope bf16(ops::Precision::bf16);
  const int64_t rows = 300, d = 64, f = 96, vocab = 50;
  const Var x(testing::random_tensor({rows, d}, 21), true), h(testing::random_tensor({rows, d}, 22), true);
  const Var gain(testing::random_tensor({d}, 23), true), bias(testing::random_tensor({d}, 24), true);
  const Var w(testing::random_tensor({d, d}, 25), true), b(testing::random_tensor({d}, 26), true);
  const Var w1(testing::random_tensor({f, d}, 27), true), b1(testing::random_tensor({f}, 28), true);
  const Var w2(testing::random_tensor({d, f}, 29), true), out(testing::random_tensor({vocab, d}, 30), true);
  std::vector<int32_t> targets(rows);
  for (int64_t i = 0; i < rows; ++i) targets[i] = static_cast<int32_t>((i * 7) % vocab);
  const Tensor seed = testing::random_tensor({rows, d}, 31);
  // The whole graph from a layer norm's output, once as made (with its copy)
  // and once from a leaf holding the same values (without): outputs, then
  // the gradients of every weight and of the norm's output.
  auto run = [&](bool with_copy) {
    std::vector<Var> weights = {w, b, w1, b1, w2, out};  // copies share their gradients
    for (Var& p : weights) p.zero_grad();
    Var y = ops::residual_layer_norm(x, h, 0.0f, nullptr, gain, bias);
    EXPECT_TRUE(y.bf16_copy().defined());
    if (!with_copy) y = Var(Tensor::from_vector(y.shape(), y.value().to_vector()), true);
    Var proj = ops::linear(y, w, b), ffn = ops::feed_forward_relu(y, w1, b1, w2, Var(), 0.0f, nullptr);
    Var loss = ops::linear_cross_entropy(y, out, Var(), targets, 0.1f, -1, nullptr);
    Var total = ops::add(ops::sum(ops::mul(ops::add(proj, ffn), Var(seed))), loss);
    backward(total);
    std::vector<std::vector<float>> values = {proj.value().to_vector(), ffn.value().to_vector(),
                                              loss.value().to_vector()};
    for (const Var& p : weights) values.push_back(p.grad().to_vector());
    return values;
  };
  const auto with = run(true), without = run(false);
  ASSERT_EQ(with.size(), without.size());
  for (size_t i = 0; i < with.size(); ++i) EXPECT_EQ(with[i], without[i]) << "result " << i;
}

// The copy is what the products read: a Var whose copy says zero multiplies as zero.
TEST(Bf16Copy, ALinearReadsTheCopyNotTheValue) {
  if (!have_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  ops::PrecisionScope bf16(ops::Precision::bf16);
  const Var w(testing::random_tensor({8, 16}, 41)), b(testing::random_tensor({8}, 42));
  Var x(testing::random_tensor({5, 16}, 43));
  x.attach_bf16_copy(Tensor::zeros({5 * 16 / 2}));
  const std::vector<float> y = ops::linear(x, w, b).value().to_vector(), bias = b.value().to_vector();
  for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], bias[i % 8]) << "at " << i;
  // and a value changed in place drops its copy
  x.mutable_value();
  EXPECT_FALSE(x.bf16_copy().defined());
}

// The loss's gradient rounded as it is made: each row what round_to_bf16
// gives of the fp32 gradient, on rows padded to an even stride (an odd
// vocabulary), an ignored row all zeros, the padding left alone.
TEST(Bf16Copy, TheLossWritesItsGradientRoundedRowByRow) {
  const int64_t rows = 5, vocab = 37, stride = 38;
  Tensor logits = testing::random_tensor({rows, vocab}, 51, -4.0f, 4.0f);
  const std::vector<int32_t> targets = {3, 7, -1, 36, 0};
  std::vector<uint16_t> rounded(rows * stride, 0xabcd);
  kernels::cross_entropy_gradient(logits, targets, 0.1f, -1, 0.5f, rounded.data(), stride);
  std::vector<uint16_t> expected(vocab);
  for (int64_t r = 0; r < rows; ++r) {
    kernels::round_to_bf16(logits.data() + r * vocab, expected.data(), vocab);
    for (int64_t v = 0; v < vocab; ++v) ASSERT_EQ(rounded[r * stride + v], expected[v]) << r << "," << v;
    EXPECT_EQ(rounded[r * stride + vocab], 0xabcd) << "row " << r << "'s padding was written";
  }
  for (int64_t v = 0; v < vocab; ++v) ASSERT_EQ(rounded[2 * stride + v], 0) << "the ignored row";
  EXPECT_NE(rounded[0], 0) << "a real row is not all zeros";
}

// A linear layer's backward reads its output gradient once: rounded into the
// products' operand and summed by column (the bias gradient) in one pass.
// The sums against double-precision sums, the same bits at 1 and 2 threads;
// the operand as round_to_bf16 makes it; in fp32 the gradient itself.
TEST(Bf16Copy, AGradientOperandCarriesItsColumnSums) {
  const int64_t rows = 300, cols = 37;  // rows span several groups, columns no multiple of 16
  const Tensor g = testing::random_tensor({rows, cols}, 52, -1.0f, 1.0f);
  std::vector<double> exact(cols, 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) exact[c] += g.data()[r * cols + c];
  for (const auto precision : {ops::Precision::fp32, ops::Precision::bf16}) {
    if (precision == ops::Precision::bf16 && !have_bf16()) continue;
    const ops::PrecisionScope scope(precision);
    const int before = num_threads();
    Tensor sums1 = Tensor::empty({cols}), sums2 = Tensor::empty({cols});
    set_num_threads(1);
    const kernels::MatmulOperand op = kernels::gradient_operand(g, sums1);
    set_num_threads(2);
    kernels::gradient_operand(g, sums2);
    set_num_threads(before);
    for (int64_t c = 0; c < cols; ++c) {
      EXPECT_NEAR(sums1.data()[c], exact[c], 1e-4) << "column " << c;
      EXPECT_EQ(sums1.data()[c], sums2.data()[c]) << "column " << c << " differs between thread counts";
    }
    ASSERT_EQ(op.shape(), Shape({rows, cols}));
    ASSERT_EQ(op.is_bf16(), precision == ops::Precision::bf16);
    if (!op.is_bf16()) {
      EXPECT_EQ(op.data(), static_cast<const void*>(g.data())) << "fp32 reads the gradient itself";
      continue;
    }
    std::vector<uint16_t> expected(rows * cols);
    kernels::round_to_bf16(g.data(), expected.data(), rows * cols);
    const auto* got = static_cast<const uint16_t*>(op.data());
    for (int64_t i = 0; i < rows * cols; ++i) ASSERT_EQ(got[i], expected[i]) << "value " << i;
  }
}

}  // namespace
}  // namespace rosetta
