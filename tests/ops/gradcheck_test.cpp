// The gradient-check table: one row (or more) per op in ops.h, each checked
// by central finite differences (testing/gradcheck.h). Tolerances are per
// row; the default is |num - ana| <= 2e-3 + 2e-2 |num| with h = 1e-2 in f32.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <set>

#include "rosetta/ops/ops.h"
#include "testing/gradcheck.h"

namespace rosetta {
namespace {

using testing::random_tensor;
using testing::Tolerance;
using testing::VarFn;

struct Case {
  std::string op;    // the name in ops.h this row covers
  std::string name;  // what variant it checks
  VarFn f;
  std::vector<Tensor> inputs;
  Tolerance tol{};
};

// Values pushed at least `gap` away from zero, for ops with a kink there.
Tensor away_from_zero(const Shape& shape, uint64_t seed, float gap = 0.1f) {
  Tensor t = random_tensor(shape, seed);
  for (int64_t i = 0; i < t.numel(); ++i) {
    float& v = t.data()[i];
    v = v >= 0 ? v + gap : v - gap;
  }
  return t;
}

Tensor causal_mask(int64_t n) {
  Tensor m = Tensor::zeros({n, n});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) m.data()[i * n + j] = -std::numeric_limits<float>::infinity();
  return m;
}

std::vector<Case> cases() {
  using namespace ops;
  std::vector<Case> c;
  auto r = [](const Shape& s, uint64_t seed) { return random_tensor(s, seed); };
  c.push_back({"matmul", "2d", [](auto& v) { return matmul(v[0], v[1]); }, {r({3, 4}, 1), r({4, 5}, 2)}});
  c.push_back({"matmul", "transpose_a", [](auto& v) { return matmul(v[0], v[1], true, false); },
               {r({4, 3}, 3), r({4, 5}, 4)}});
  c.push_back({"matmul", "transpose_b_alpha", [](auto& v) { return matmul(v[0], v[1], false, true, 0.5f); },
               {r({3, 4}, 5), r({5, 4}, 6)}});
  c.push_back({"matmul", "both_transposed", [](auto& v) { return matmul(v[0], v[1], true, true); },
               {r({4, 3}, 7), r({5, 4}, 8)}});
  c.push_back({"matmul", "batched_4d_attention", [](auto& v) { return matmul(v[0], v[1], false, true, 0.7f); },
               {r({2, 2, 3, 4}, 9), r({2, 2, 5, 4}, 10)}});
  c.push_back({"attention_scores", "cross", [](auto& v) { return attention_scores(v[0], v[1], 3, 0.7f); },
               {r({2, 4, 6}, 84), r({2, 5, 6}, 85)}});
  c.push_back({"attention_context", "", [](auto& v) { return attention_context(v[0], v[1], 3); },
               {r({2, 3, 4, 5}, 86), r({2, 5, 6}, 87)}});
  c.push_back({"matmul", "batched_permuted_views",
               [](auto& v) {
                 // [B, T, H, Dh] -> [B, H, T, Dh] as views, as attention splits heads.
                 return matmul(permute(v[0], {0, 2, 1, 3}), permute(v[1], {0, 2, 3, 1}));
               },
               {r({2, 3, 2, 4}, 11), r({2, 5, 2, 4}, 12)}});
  c.push_back({"linear", "bias_3d", [](auto& v) { return linear(v[0], v[1], v[2]); },
               {r({2, 3, 4}, 13), r({5, 4}, 14), r({5}, 15)}});
  c.push_back({"linear", "no_bias", [](auto& v) { return linear(v[0], v[1], Var()); },
               {r({3, 4}, 16), r({2, 4}, 17)}});
  // One input, two products: the second adds into the first's gradient where it lies.
  c.push_back({"linear", "two_from_one_input",
               [](auto& v) { return add(linear(v[0], v[1], Var()), linear(v[0], v[2], v[3])); },
               {r({2, 3, 4}, 88), r({5, 4}, 89), r({5, 4}, 90), r({5}, 91)}});
  // An op's input whose gradient so far is shared (the add's): added apart, not in place.
  c.push_back({"linear", "beside_its_input",
               [](auto& v) {
                 const Var x = add(v[0], v[1]);
                 return add(x, linear(x, v[2], v[3]));
               },
               {r({2, 3, 4}, 92), r({4}, 93), r({4, 4}, 94), r({4}, 95)}});
  c.push_back({"add", "same_shape", [](auto& v) { return add(v[0], v[1]); }, {r({2, 3}, 18), r({2, 3}, 19)}});
  c.push_back({"add", "broadcast_both", [](auto& v) { return add(v[0], v[1]); }, {r({2, 1, 4}, 20), r({3, 1}, 21)}});
  c.push_back({"add", "broadcast_first", [](auto& v) { return add(v[0], v[1]); }, {r({4}, 22), r({3, 4}, 23)}});
  c.push_back({"sub", "broadcast_first", [](auto& v) { return sub(v[0], v[1]); }, {r({1, 4}, 24), r({3, 4}, 25)}});
  c.push_back({"sub", "broadcast_second", [](auto& v) { return sub(v[0], v[1]); }, {r({3, 4}, 26), r({3, 1}, 27)}});
  c.push_back({"mul", "broadcast_both", [](auto& v) { return mul(v[0], v[1]); }, {r({2, 1, 3}, 28), r({4, 1}, 29)}});
  c.push_back({"mul", "same_input_twice", [](auto& v) { return mul(v[0], v[0]); }, {r({3, 3}, 30)}});
  c.push_back({"scale", "", [](auto& v) { return scale(v[0], -1.5f); }, {r({2, 5}, 31)}});
  c.push_back({"add_constant", "finite", [](auto& v) {
                 return add_constant(v[0], Tensor::from_vector({1, 3}, {0.0f, -2.0f, 1.0f}));
               }, {r({2, 3}, 32)}});
  c.push_back({"add_constant", "causal_softmax", [](auto& v) { return softmax(add_constant(v[0], causal_mask(4))); },
               {r({2, 4, 4}, 33)}});
  c.push_back({"relu", "", [](auto& v) { return relu(v[0]); }, {away_from_zero({3, 4}, 34)}});
  c.push_back({"gelu", "", [](auto& v) { return gelu(v[0]); }, {r({3, 4}, 35)}});
  c.push_back({"softmax", "", [](auto& v) { return softmax(v[0]); }, {r({3, 5}, 36)}});
  c.push_back({"log_softmax", "", [](auto& v) { return log_softmax(v[0]); }, {r({3, 5}, 37)}});
  c.push_back({"layer_norm", "", [](auto& v) { return layer_norm(v[0], v[1], v[2]); },
               {r({2, 3, 6}, 38), r({6}, 39), r({6}, 40)}, {.h = 1e-2, .atol = 5e-3, .rtol = 3e-2}});
  c.push_back({"residual_layer_norm", "plain",
               [](auto& v) { return residual_layer_norm(v[0], v[1], 0.0f, nullptr, v[2], v[3]); },
               {r({2, 3, 6}, 77), r({2, 3, 6}, 78), r({6}, 79), r({6}, 80)}, {.h = 1e-2, .atol = 5e-3, .rtol = 3e-2}});
  // The same key every evaluation: the mask holds still while the inputs move.
  c.push_back({"residual_layer_norm", "dropout",
               [](auto& v) {
                 Rng rng(81);
                 return residual_layer_norm(v[0], v[1], 0.3f, &rng, v[2], v[3]);
               },
               {r({5, 70}, 82), r({5, 70}, 83), r({70}, 84), r({70}, 85)}, {.h = 1e-2, .atol = 5e-3, .rtol = 3e-2}});
  c.push_back({"dropout", "p30", [](auto& v) { Rng rng(5); return dropout(v[0], 0.3f, rng); }, {r({4, 6}, 41)}});
  // The padding row's missing gradient is deliberate; ops_test checks it.
  c.push_back({"embedding", "repeated_ids",
               [](auto& v) { return embedding(v[0], {1, 0, 3, 1, 2, 0}, {2, 3}); }, {r({4, 3}, 42)}});
  c.push_back({"reshape", "", [](auto& v) { return reshape(mul(v[0], v[0]), {3, -1}); }, {r({2, 3, 2}, 43)}});
  c.push_back({"reshape", "of_permuted_view", [](auto& v) { return reshape(permute(v[0], {1, 0}), {-1}); },
               {r({2, 3}, 44)}});
  c.push_back({"permute", "", [](auto& v) { return contiguous(permute(v[0], {2, 0, 1})); }, {r({2, 3, 4}, 45)}});
  c.push_back({"transpose", "", [](auto& v) { return transpose(v[0], 0, 2); }, {r({2, 3, 4}, 46)}});
  c.push_back({"narrow", "", [](auto& v) { return narrow(v[0], 1, 1, 2); }, {r({2, 4, 3}, 47)}});
  c.push_back({"contiguous", "", [](auto& v) { return contiguous(transpose(v[0], 0, 1)); }, {r({3, 2}, 48)}});
  c.push_back({"sum", "all", [](auto& v) { return sum(v[0]); }, {r({3, 4}, 49)}});
  c.push_back({"sum", "axis", [](auto& v) { return sum(v[0], 1); }, {r({2, 3, 4}, 50)}});
  c.push_back({"sum", "axis_keepdim", [](auto& v) { return sum(v[0], -1, true); }, {r({2, 3, 4}, 51)}});
  c.push_back({"mean", "", [](auto& v) { return mean(v[0]); }, {r({3, 4}, 52)}});
  c.push_back({"cross_entropy", "smoothed_ignored",
               [](auto& v) { return cross_entropy(v[0], {2, 0, 4, 1}, 0.1f, 0); }, {r({4, 6}, 53)}});
  c.push_back({"cross_entropy", "plain", [](auto& v) { return cross_entropy(v[0], {2, 1, 0}); }, {r({3, 5}, 54)}});
  c.push_back({"linear_relu", "bias", [](auto& v) { return linear_relu(v[0], v[1], v[2]); },
               {r({2, 3, 4}, 63), r({5, 4}, 64), r({5}, 65)}});
  c.push_back({"feed_forward_relu", "plain",
               [](auto& v) { return feed_forward_relu(v[0], v[1], v[2], v[3], v[4], 0.0f, nullptr); },
               {r({2, 3, 4}, 66), r({5, 4}, 67), r({5}, 68), r({3, 5}, 69), r({3}, 70)}});
  c.push_back({"feed_forward_relu", "beside_a_linear",
               [](auto& v) {
                 return add(feed_forward_relu(v[0], v[1], v[2], v[3], v[4], 0.0f, nullptr), linear(v[0], v[5], Var()));
               },
               {r({2, 3, 4}, 96), r({5, 4}, 97), r({5}, 98), r({3, 5}, 99), r({3}, 100), r({3, 4}, 101)}});
  // The same key every evaluation: the mask holds still while the inputs move.
  c.push_back({"feed_forward_relu", "dropout",
               [](auto& v) {
                 Rng rng(71);
                 return feed_forward_relu(v[0], v[1], v[2], v[3], v[4], 0.3f, &rng);
               },
               {r({2, 3, 4}, 72), r({70, 4}, 73), r({70}, 74), r({3, 70}, 75), r({3}, 76)}});
  c.push_back({"linear_cross_entropy", "bias_smoothed_ignored",
               [](auto& v) { return linear_cross_entropy(v[0], v[1], v[2], {2, 0, 4, 1}, 0.1f, 0); },
               {r({4, 3}, 55), r({6, 3}, 56), r({6}, 57)}});
  // More rows than one chunk holds (256): the gradients add up across chunks.
  c.push_back({"linear_cross_entropy", "chunks", [](auto& v) {
                 std::vector<int32_t> targets(260);
                 for (size_t i = 0; i < targets.size(); ++i) targets[i] = static_cast<int32_t>(i % 5);
                 return linear_cross_entropy(v[0], v[1], Var(), targets, 0.1f, 3);
               },
               {r({260, 2}, 58), r({5, 2}, 59)}});
  return c;
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.op << "/" << c.name; }

class GradCheck : public ::testing::TestWithParam<Case> {};

TEST_P(GradCheck, MatchesFiniteDifferences) {
  const Case& c = GetParam();
  EXPECT_EQ(testing::gradcheck(c.f, c.inputs, c.tol), "");
}

INSTANTIATE_TEST_SUITE_P(Ops, GradCheck, ::testing::ValuesIn(cases()), [](const auto& info) {
  return info.param.op + (info.param.name.empty() ? "" : "_" + info.param.name);
});

// Every op the catalogue declares has at least one row above.
TEST(GradCheckTable, CoversEveryOpInTheCatalogue) {
  std::ifstream header(ROSETTA_SOURCE_DIR "/include/rosetta/ops/ops.h");
  ASSERT_TRUE(header.good());
  std::set<std::string> covered;
  for (const Case& c : cases()) covered.insert(c.op);
  std::string line;
  int declared = 0;
  while (std::getline(header, line)) {
    // Declarations read "Var name(": the name runs up to the parenthesis.
    if (line.rfind("Var ", 0) != 0 || line.find('(') == std::string::npos) continue;
    const std::string name = line.substr(4, line.find('(') - 4);
    ++declared;
    EXPECT_TRUE(covered.count(name)) << "no gradient check for op " << name;
  }
  EXPECT_GE(declared, 20);
}

}  // namespace
}  // namespace rosetta
