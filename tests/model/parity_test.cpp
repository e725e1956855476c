// Parity with PyTorch: a tiny Transformer with torch's weights gives torch's
// logits, loss and parameter gradients (fixtures written by
// tools/make_parity_fixture.py from nn.TransformerEncoderLayer/DecoderLayer;
// the decoder-only language model from nn.TransformerEncoder with a causal mask).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "rosetta/model/transformer.h"

namespace rosetta {
namespace {

struct Fixture {
  ModelConfig config;
  std::map<std::string, TokenMatrix> tokens;
  std::map<std::string, std::vector<float>> params, grads;
  std::vector<float> logits;
  double loss = 0;
};

Fixture load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  Fixture f;
  std::string tag;
  auto read_floats = [&](size_t n) {
    std::vector<float> v(n);
    for (float& x : v) in >> x;
    return v;
  };
  while (in >> tag) {
    if (tag[0] == '#') {
      std::getline(in, tag);
    } else if (tag == "config") {
      int64_t v, d, h, ff, layers;
      std::string norm, rest;
      in >> v >> d >> h >> ff >> layers >> norm;
      std::getline(in, rest);  // " decoder_only" for a language model
      f.config = ModelConfig{.type = rest.find("decoder_only") != std::string::npos   ? ModelType::decoder_only
                                     : rest.find("encoder_only") != std::string::npos ? ModelType::encoder_only
                                                                                      : ModelType::encoder_decoder,
                             .vocab_size = v, .d_model = d, .heads = h, .ffn = ff,
                             .encoder_layers = layers, .decoder_layers = layers,
                             .dropout = 0, .attention_dropout = 0, .activation_dropout = 0,
                             .norm = norm == "pre" ? NormPosition::pre : NormPosition::post,
                             .max_positions = 64};
    } else if (tag == "tokens") {
      std::string name;
      TokenMatrix m;
      in >> name >> m.rows >> m.cols;
      m.ids.resize(m.rows * m.cols);
      for (int32_t& id : m.ids) in >> id;
      f.tokens[name] = m;
    } else if (tag == "param" || tag == "grad" || tag == "logits") {
      std::string name;
      size_t n;
      in >> name >> n;
      auto values = read_floats(n);
      if (tag == "param") f.params[name] = values;
      else if (tag == "grad") f.grads[name] = values;
      else f.logits = values;
    } else if (tag == "loss") {
      in >> f.loss;
    }
  }
  return f;
}

// |a - b| <= 1e-4 (1 + |b|), elementwise.
void expect_close(const std::vector<float>& actual, const std::vector<float>& expected,
                  const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  double worst = 0;
  for (size_t i = 0; i < actual.size(); ++i)
    worst = std::max(worst, std::abs(actual[i] - expected[i]) / (1.0 + std::abs(expected[i])));
  EXPECT_LE(worst, 1e-4) << what;
}

class Parity : public ::testing::TestWithParam<std::string> {};

TEST_P(Parity, LogitsLossAndGradientsMatchTorch) {
  const Fixture f = load(std::string(ROSETTA_SOURCE_DIR "/tests/fixtures/parity_") + GetParam() + ".txt");
  Rng rng(1);
  Transformer model(f.config, rng);
  const auto named = model.named_parameters();
  ASSERT_EQ(named.size(), f.params.size());
  for (auto [name, var] : named) {
    auto it = f.params.find(name);
    ASSERT_NE(it, f.params.end()) << "torch has no parameter " << name;
    ASSERT_EQ(static_cast<size_t>(var.value().numel()), it->second.size()) << name;
    std::copy(it->second.begin(), it->second.end(), var.mutable_value().data());
  }
  const TokenMatrix src = f.tokens.count("src") ? f.tokens.at("src") : TokenMatrix{};  // none for a language model
  const TokenMatrix tgt_in = f.tokens.count("tgt_in") ? f.tokens.at("tgt_in") : TokenMatrix{};  // none for a masked LM
  Var logits = model.forward(src, tgt_in, nullptr);
  expect_close(logits.value().to_vector(), f.logits, "logits");
  Var loss = ops::cross_entropy(ops::reshape(logits, {-1, f.config.vocab_size}),
                                f.tokens.at("tgt_out").ids, 0.1f, 0);
  EXPECT_NEAR(loss.value().item(), f.loss, 1e-5 * (1 + f.loss));
  backward(loss);
  for (auto [name, var] : named) {
    ASSERT_TRUE(var.grad().defined()) << name;
    expect_close(var.grad().to_vector(), f.grads.at(name), "gradient of " + name);
  }
}

INSTANTIATE_TEST_SUITE_P(Norms, Parity, ::testing::Values("post", "pre", "lm_post", "lm_pre", "mlm_post", "mlm_pre"));

}  // namespace
}  // namespace rosetta
