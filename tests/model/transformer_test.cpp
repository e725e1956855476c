// The model's structure and its masks: parameter count against the PyTorch
// reference's, padding and causal masks, and incremental decoding equal to
// the full pass.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "rosetta/error.h"
#include "rosetta/model/transformer.h"
#include "rosetta/nn/init.h"

namespace rosetta {
namespace {

ModelConfig tiny(NormPosition norm = NormPosition::post) {
  return ModelConfig{.vocab_size = 17, .d_model = 8, .heads = 2, .ffn = 16, .encoder_layers = 2,
                     .decoder_layers = 2, .dropout = 0.1f, .attention_dropout = 0.1f,
                     .activation_dropout = 0.1f, .norm = norm, .max_positions = 64};
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

TEST(Transformer, Multi30kSmallHasTheReferenceParameterCount) {
  // ../shared/reference: d 256, 4 heads, FFN 1024, 3+3 layers, joint 8000, all tied.
  ModelConfig c{.vocab_size = 8000, .d_model = 256, .heads = 4, .ffn = 1024, .encoder_layers = 3,
                .decoder_layers = 3};
  Rng rng(1);
  EXPECT_EQ(Transformer(c, rng).parameter_count(), 7577600);
  c.norm = NormPosition::pre;  // + two final layer norms
  EXPECT_EQ(Transformer(c, rng).parameter_count(), 7577600 + 2 * 512);
  c.tying = EmbeddingTying::none;  // + target embedding + output projection
  EXPECT_EQ(Transformer(c, rng).parameter_count(), 7577600 + 2 * 512 + 2 * 8000 * 256);
}

TEST(Transformer, InitialisationFollowsTheReference) {
  Rng rng(1);
  const ModelConfig c{.vocab_size = 500, .d_model = 64, .heads = 4, .ffn = 128, .encoder_layers = 1,
                      .decoder_layers = 1};
  Transformer model(c, rng);
  for (auto& [name, var] : model.named_parameters()) {
    const auto v = var.value().to_vector();
    if (name == "embedding.weight") {
      for (int i = 0; i < 64; ++i) EXPECT_EQ(v[i], 0.0f) << "pad row";
      double sq = 0;
      for (size_t i = 64; i < v.size(); ++i) sq += v[i] * v[i];
      EXPECT_NEAR(std::sqrt(sq / (v.size() - 64)), 1.0 / 8.0, 0.005);  // N(0, d^-1/2)
    } else if (name.find("q_proj.weight") != std::string::npos) {
      const float bound = std::sqrt(6.0f / (64 + 192));  // fans of the fused [3D, D] in_proj
      for (float x : v) EXPECT_LE(std::abs(x), bound);
      EXPECT_GT(*std::max_element(v.begin(), v.end()), 0.9f * bound);
    } else if (name.find("norm") != std::string::npos && name.ends_with("weight")) {
      for (float x : v) EXPECT_EQ(x, 1.0f);
    } else if (name.find("attn") != std::string::npos && name.ends_with("bias")) {
      for (float x : v) EXPECT_EQ(x, 0.0f);
    }
  }
}

TEST(Transformer, SameSeedSameModel) {
  Rng a(9), b(9);
  Transformer m1(tiny(), a), m2(tiny(), b);
  const auto p1 = m1.named_parameters(), p2 = m2.named_parameters();
  for (size_t i = 0; i < p1.size(); ++i) EXPECT_EQ(p1[i].second.value().to_vector(), p2[i].second.value().to_vector());
}

// A model built to be loaded from a checkpoint draws nothing: its weights
// are zeros until restored, and the generator is left where it was.
TEST(Transformer, AModelBuiltToBeLoadedDrawsNothing) {
  Rng rng(5), fresh(5);
  {
    const nn::init::SkipDrawingScope skip;
    const Transformer model(tiny(), rng);
    int64_t nonzero = 0;
    for (const auto& [name, var] : model.named_parameters()) {
      if (name.find("norm") != std::string::npos) continue;  // layer-norm gains start at 1, not drawn
      const std::vector<float> v = var.value().to_vector();
      nonzero += std::count_if(v.begin(), v.end(), [](float x) { return x != 0.0f; });
    }
    EXPECT_EQ(nonzero, 0);
  }
  EXPECT_EQ(rng.uniform(0.0f, 1.0f), fresh.uniform(0.0f, 1.0f));
  const Transformer drawn(tiny(), rng);  // and outside the scope, drawn as before
  const Transformer again(tiny(), fresh);
  EXPECT_EQ(drawn.named_parameters().front().second.value().to_vector(),
            again.named_parameters().front().second.value().to_vector());
}

TEST(Transformer, PaddingNeverChangesTheRealPositions) {
  Rng rng(2);
  Transformer model(tiny(), rng);
  const TokenMatrix short_src = TokenMatrix::from_rows({{5, 6, 3}}, 0);
  const TokenMatrix padded_src{1, 6, {5, 6, 3, 0, 0, 0}};
  const TokenMatrix tgt = TokenMatrix::from_rows({{2, 7, 8}}, 0);
  NoGradGuard no_grad;
  const auto a = model.forward(short_src, tgt, nullptr).value().to_vector();
  const auto b = model.forward(padded_src, tgt, nullptr).value().to_vector();
  EXPECT_LT(max_abs_diff(a, b), 1e-5);
}

TEST(Transformer, PaddedKeysGetZeroAttentionWeight) {
  Rng rng(3);
  nn::MultiHeadAttention attention(8, 2, 0.0f, rng);
  const TokenMatrix keys{2, 4, {5, 6, 0, 0, 7, 8, 9, 0}};
  Var query(Tensor::full({2, 3, 8}, 0.3f)), memory(Tensor::full({2, 4, 8}, 0.7f));
  Var weights;
  attention.forward(query, memory, key_padding_mask(keys, 0), nullptr, &weights);
  const auto w = weights.value().to_vector();  // [2, 2, 3, 4]
  for (int b = 0; b < 2; ++b)
    for (int h = 0; h < 2; ++h)
      for (int t = 0; t < 3; ++t)
        for (int s = 0; s < 4; ++s)
          if (keys.at(b, s) == 0) {
            EXPECT_EQ(w[((b * 2 + h) * 3 + t) * 4 + s], 0.0f);
          }
}

TEST(Transformer, CausalMaskHidesTheFuture) {
  Rng rng(4);
  Transformer model(tiny(), rng);
  const TokenMatrix src = TokenMatrix::from_rows({{5, 6, 7, 3}}, 0);
  NoGradGuard no_grad;
  const auto a = model.forward(src, TokenMatrix::from_rows({{2, 9, 10, 11}}, 0), nullptr).value();
  const auto b = model.forward(src, TokenMatrix::from_rows({{2, 9, 10, 16}}, 0), nullptr).value();
  // Positions 0-2 cannot see token 3; position 3 does.
  EXPECT_LT(max_abs_diff(a.narrow(1, 0, 3).to_vector(), b.narrow(1, 0, 3).to_vector()), 1e-6);
  EXPECT_GT(max_abs_diff(a.narrow(1, 3, 1).to_vector(), b.narrow(1, 3, 1).to_vector()), 1e-4);
}

class Incremental : public ::testing::TestWithParam<NormPosition> {};

TEST_P(Incremental, StepByStepEqualsTheFullPass) {
  Rng rng(5);
  Transformer model(tiny(GetParam()), rng);
  const TokenMatrix src = TokenMatrix::from_rows({{5, 6, 7, 8, 3}, {9, 10, 3}}, 0);
  const TokenMatrix tgt = TokenMatrix::from_rows({{2, 11, 12, 13, 14}, {2, 15, 16, 4, 5}}, 0);
  NoGradGuard no_grad;
  const Tensor full = ops::log_softmax(model.forward(src, tgt, nullptr)).value();  // [2, 5, V]
  DecoderState state = model.start(src, 8);
  for (int64_t t = 0; t < tgt.cols; ++t) {
    const Tensor step = model.step(state, {tgt.at(0, t), tgt.at(1, t)});  // [2, V]
    for (int64_t b = 0; b < 2; ++b)
      EXPECT_LT(max_abs_diff(step.narrow(0, b, 1).to_vector(), full.narrow(0, b, 1).narrow(1, t, 1).to_vector()),
                2e-5)
          << "row " << b << " step " << t;
  }
  EXPECT_THROW(model.step(state, {1}), Error);  // wrong batch size
}

TEST_P(Incremental, SelectRowsReordersTheCache) {
  Rng rng(6);
  Transformer model(tiny(GetParam()), rng);
  const TokenMatrix src = TokenMatrix::from_rows({{5, 6, 7, 8, 3}, {9, 10, 3}}, 0);
  NoGradGuard no_grad;
  DecoderState both = model.start(src, 6);
  model.step(both, {2, 2});
  const Tensor expected = model.step(both, {11, 15});
  DecoderState swapped = model.start(src, 6);
  model.step(swapped, {2, 2});
  swapped.select_rows({1, 0, 1});  // reorder and repeat, as beam search does
  const Tensor got = model.step(swapped, {15, 11, 15});
  EXPECT_LT(max_abs_diff(got.narrow(0, 0, 1).to_vector(), expected.narrow(0, 1, 1).to_vector()), 1e-6);
  EXPECT_LT(max_abs_diff(got.narrow(0, 1, 1).to_vector(), expected.narrow(0, 0, 1).to_vector()), 1e-6);
  EXPECT_LT(max_abs_diff(got.narrow(0, 2, 1).to_vector(), expected.narrow(0, 1, 1).to_vector()), 1e-6);
}

TEST_P(Incremental, ReorderingBeamsOfOneSentenceEqualsDecodingThemApart) {
  Rng rng(6);
  Transformer model(tiny(GetParam()), rng);
  const TokenMatrix src = TokenMatrix::from_rows({{5, 6, 7, 8, 3}, {9, 10, 3}}, 0);
  NoGradGuard no_grad;
  DecoderState apart = model.start(src, 6);
  model.step(apart, {2, 2});
  model.step(apart, {12, 16});
  const Tensor expected = model.step(apart, {13, 14});
  DecoderState beams = model.start(src, 6);
  beams.select_rows({0, 0, 1, 1});  // two beams per sentence
  model.step(beams, {2, 2, 2, 2});
  model.step(beams, {11, 12, 15, 16});
  beams.select_rows({1, 1, 3, 2});  // same sentences per row: cross caches stay in place
  const Tensor got = model.step(beams, {13, 13, 14, 4});
  EXPECT_LT(max_abs_diff(got.narrow(0, 0, 1).to_vector(), expected.narrow(0, 0, 1).to_vector()), 1e-6);
  EXPECT_LT(max_abs_diff(got.narrow(0, 1, 1).to_vector(), expected.narrow(0, 0, 1).to_vector()), 1e-6);
  EXPECT_LT(max_abs_diff(got.narrow(0, 2, 1).to_vector(), expected.narrow(0, 1, 1).to_vector()), 1e-6);
  EXPECT_GT(max_abs_diff(got.narrow(0, 3, 1).to_vector(), expected.narrow(0, 1, 1).to_vector()), 1e-4);
  EXPECT_THROW(beams.select_rows({4}), std::exception);  // no such row
}

INSTANTIATE_TEST_SUITE_P(Norms, Incremental, ::testing::Values(NormPosition::post, NormPosition::pre));

TEST(Transformer, DropoutTrainsDifferentlyButReproducibly) {
  Rng init(7);
  Transformer model(tiny(), init);
  const TokenMatrix src = TokenMatrix::from_rows({{5, 6, 3}}, 0), tgt = TokenMatrix::from_rows({{2, 7}}, 0);
  Rng r1(1), r2(1), r3(2);
  const auto a = model.forward(src, tgt, &r1).value().to_vector();
  const auto b = model.forward(src, tgt, &r2).value().to_vector();
  const auto c = model.forward(src, tgt, &r3).value().to_vector();
  EXPECT_EQ(a, b);
  EXPECT_GT(max_abs_diff(a, c), 1e-4);
}

TEST(Transformer, BadConfigsThrow) {
  Rng rng(1);
  ModelConfig c = tiny();
  c.heads = 3;
  EXPECT_THROW(Transformer(c, rng), Error);
  c = tiny();
  Transformer model(c, rng);
  std::vector<int32_t> long_ids(70, 5);
  EXPECT_THROW(model.forward(TokenMatrix{1, 70, long_ids}, TokenMatrix{1, 1, {2}}, nullptr), Error);
}

}  // namespace
}  // namespace rosetta
