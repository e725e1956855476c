// Language models (model.type: decoder_only): the sampling distribution
// against values worked out by hand, scores against the incremental decoder
// (another code path), sampling against greedy search and its seed, training
// with perplexity validation, and the config's checks of the model type.
#include "rosetta/decode/language_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rosetta/config/config.h"
#include "rosetta/decode/model_loader.h"
#include "rosetta/error.h"
#include "rosetta/train/trainer.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"
#include "testing/tiny_run.h"

namespace rosetta {
namespace {

TEST(SamplingDistribution, TemperatureTopKAndTopPAsWorkedOutByHand) {
  // Ids 0-2 (pad, unk, bos) are never drawn; 3..7 have probabilities
  // 0.1, 0.4, 0.2, 0.2, 0.1 (the specials' mass is dropped and renormalised).
  const std::vector<float> lp = {std::log(0.3f), std::log(0.2f), std::log(0.1f), std::log(0.04f), std::log(0.16f),
                                 std::log(0.08f), std::log(0.08f), std::log(0.04f)};
  std::vector<double> p = sampling_distribution(lp.data(), 8, {});
  const std::vector<double> plain = {0, 0, 0, 0.1, 0.4, 0.2, 0.2, 0.1};
  for (int v = 0; v < 8; ++v) EXPECT_NEAR(p[v], plain[v], 1e-6) << v;
  // Temperature 0.5 squares the probabilities: 0.01, 0.16, 0.04, 0.04, 0.01 over 0.26.
  p = sampling_distribution(lp.data(), 8, {.temperature = 0.5f});
  EXPECT_NEAR(p[4], 0.16 / 0.26, 1e-6);
  EXPECT_NEAR(p[3], 0.01 / 0.26, 1e-6);
  // Top-k 2: id 4 and the first of the tied 5 and 6.
  p = sampling_distribution(lp.data(), 8, {.top_k = 2});
  EXPECT_NEAR(p[4], 0.4 / 0.6, 1e-6);
  EXPECT_NEAR(p[5], 0.2 / 0.6, 1e-6);
  EXPECT_EQ(p[6], 0.0);
  // Top-p 0.75: 0.4 + 0.2 + 0.2 = 0.8 is the first prefix reaching it.
  p = sampling_distribution(lp.data(), 8, {.top_p = 0.75f});
  EXPECT_NEAR(p[4], 0.5, 1e-6);
  EXPECT_NEAR(p[5], 0.25, 1e-6);
  EXPECT_NEAR(p[6], 0.25, 1e-6);
  EXPECT_EQ(p[3] + p[7], 0.0);
  EXPECT_THROW(sampling_distribution(lp.data(), 8, {.temperature = 0}), Error);
  EXPECT_THROW(sampling_distribution(lp.data(), 8, {.top_p = 0}), Error);
}

class LanguageModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    result_ = new TrainResult(train(testing::tiny_lm_config(*dir_, {"train.max_steps=120", "train.valid_every=60"})));
  }
  static void TearDownTestSuite() {
    delete result_;
    delete dir_;
  }
  static inline testing::TempDir* dir_ = nullptr;
  static inline TrainResult* result_ = nullptr;
};

TEST_F(LanguageModel, TrainsAndValidatesByPerplexity) {
  EXPECT_EQ(result_->steps, 120);
  EXPECT_EQ(result_->best_bleu, -1);
  // The copy task's lines come from ten words in any order: about ten
  // choices a word, far below the untrained model's ~32.
  EXPECT_GT(result_->best_ppl, 1.0);
  EXPECT_LT(result_->best_ppl, 12.0);
  EXPECT_FALSE(result_->best_checkpoint.empty());
  std::istringstream metrics(testing::read_text(dir_->path("run/metrics.jsonl")));
  int validations = 0;
  for (std::string line; std::getline(metrics, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j["type"] == "valid") {
      ++validations;
      EXPECT_FALSE(j.contains("valid_bleu"));
      EXPECT_NEAR(j["valid_ppl"].get<double>(), std::exp(j["valid_nll"].get<double>()), 1e-9);
    }
  }
  EXPECT_EQ(validations, 2);
}

TEST_F(LanguageModel, ScoresMatchTheIncrementalDecoderAndIgnorePadding) {
  const LoadedModel loaded = load_model(result_->best_checkpoint);
  const Transformer& model = *loaded.model;
  const std::vector<std::vector<int32_t>> sentences = {loaded.vocabularies.target->encode("red cat sits"),
                                                       loaded.vocabularies.target->encode("big dog"),
                                                       loaded.vocabularies.target->encode("small green bird runs big")};
  const std::vector<SentenceScore> batched = score_sentences(model, sentences, 3);
  for (size_t i = 0; i < sentences.size(); ++i) {
    // One position at a time with the KV cache: the sum of log p(next).
    TokenMatrix one;
    one.rows = 1;
    DecoderState state = model.start(one, 64);
    double log_prob = 0;
    std::vector<int32_t> target = sentences[i];
    target.push_back(kEosId);
    int32_t previous = kBosId;
    for (int32_t next : target) {
      const Tensor lp = model.step(state, {previous});
      log_prob += lp.data()[next];
      previous = next;
    }
    EXPECT_NEAR(batched[i].log_prob, log_prob, 1e-4 * (1 + std::abs(log_prob))) << i;
    EXPECT_EQ(batched[i].tokens, static_cast<int64_t>(target.size()));
    EXPECT_NEAR(score_sentences(model, {sentences[i]}, 1)[0].log_prob, batched[i].log_prob, 1e-4);
  }
}

TEST_F(LanguageModel, SamplingIsReproducibleAndTopOneIsGreedy) {
  const LoadedModel loaded = load_model(result_->best_checkpoint);
  const Transformer& model = *loaded.model;
  const std::vector<int32_t> prompt = loaded.vocabularies.target->encode("red");
  const auto a = sample_continuations(model, prompt, 4, {.max_length = 12, .seed = 7});
  EXPECT_EQ(sample_continuations(model, prompt, 4, {.max_length = 12, .seed = 7}), a);
  EXPECT_NE(sample_continuations(model, prompt, 4, {.max_length = 12, .seed = 8}), a);
  for (const auto& s : a) EXPECT_LE(s.size(), 12u);
  // Top-1 against the argmax of full forward passes over the growing prefix.
  const auto top1 = sample_continuations(model, prompt, 2, {.top_k = 1, .max_length = 10, .seed = 1});
  EXPECT_EQ(top1[0], top1[1]);
  std::vector<int32_t> prefix = {kBosId};
  prefix.insert(prefix.end(), prompt.begin(), prompt.end());
  std::vector<int32_t> greedy;
  for (int step = 0; step < 10; ++step) {
    const Tensor logits = model.forward(TokenMatrix{}, TokenMatrix::from_rows({prefix}, kPadId), nullptr).value();
    const int64_t vocab = model.config().vocab_size, last = static_cast<int64_t>(prefix.size()) - 1;
    int32_t best = -1;
    for (int32_t v = 0; v < vocab; ++v) {
      if (v == kPadId || v == kBosId || v == kUnkId) continue;
      if (best < 0 || logits.data()[last * vocab + v] > logits.data()[last * vocab + best]) best = v;
    }
    if (best == kEosId) break;
    greedy.push_back(best);
    prefix.push_back(best);
  }
  EXPECT_EQ(top1[0], greedy);
}

TEST_F(LanguageModel, CommandsGenerateAndScore) {
  const std::string model = " -m " + result_->best_checkpoint;
  auto a = testing::run_command(testing::rosetta_binary() + " generate" + model + " --prompt red -n 3 --seed 5", true);
  ASSERT_EQ(a.exit_code, 0) << a.output;
  EXPECT_EQ(testing::run_command(testing::rosetta_binary() + " generate" + model + " --prompt red -n 3 --seed 5", true).output,
            a.output);
  std::istringstream lines(a.output);
  int n = 0;
  for (std::string line; std::getline(lines, line); ++n) EXPECT_EQ(line.rfind("red", 0), 0u) << line;
  EXPECT_EQ(n, 3);
  const std::string text = dir_->write_lines("score.txt", {"red cat", "big dog runs"});
  auto s = testing::run_command(testing::rosetta_binary() + " score" + model + " --input " + text, true);
  ASSERT_EQ(s.exit_code, 0) << s.output;
  std::istringstream scored(s.output);
  std::string first;
  std::getline(scored, first);
  const nlohmann::json j = nlohmann::json::parse(first);
  EXPECT_EQ(j["line"], 1);
  EXPECT_LT(j["log_prob"].get<double>(), 0.0);
  EXPECT_NEAR(j["ppl"].get<double>(), std::exp(-j["log_prob"].get<double>() / j["tokens"].get<double>()), 1e-9);
  // A translation model is not a language model, and the other way round.
  auto t = testing::run_command(testing::rosetta_binary() + " translate" + model + " < " + text);
  EXPECT_NE(t.exit_code, 0);
}

TEST(LanguageModelConfig, KeysOfTheOtherModelTypeAreNamed) {
  const auto error_of = [](const std::string& yaml) {
    try {
      parse_config(yaml, "lm.yaml");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of("model: {type: decoder_only}\ndata: {train: {src: a.en}}\n").find("lm.yaml:2: data.train.src: a "
                                                                                      "decoder_only model reads monolingual"),
            std::string::npos);
  EXPECT_NE(error_of("model: {type: decoder_only, encoder_layers: 2}\n").find("model.encoder_layers: has no meaning"),
            std::string::npos);
  EXPECT_NE(error_of("data: {train: {text: a.de}}\n").find("data.train.text: monolingual text is for model.type "
                                                           "decoder_only or encoder_only"),
            std::string::npos);
  EXPECT_NE(error_of("train: {mlm_select: 0.2}\n").find("train.mlm_select: is for model.type: encoder_only"),
            std::string::npos);
  EXPECT_NE(error_of("model: {type: encoder_only, decoder_layers: 2}\n").find("model.decoder_layers: has no meaning for "
                                                                             "an encoder_only model"),
            std::string::npos);
  EXPECT_NE(error_of("model: {type: encoder_only}\ntrain: {mlm_mask: 0.8, mlm_random: 0.3}\n").find("train.mlm_mask"),
            std::string::npos);
  EXPECT_NE(error_of("model: {type: decoder_only, tie_embeddings: decoder}\n").find("model.tie_embeddings"),
            std::string::npos);
  // A language model's config survives its own round trip (as checkpoints store it).
  const Config lm = parse_config("model: {type: decoder_only}\ndata: {train: {text: a.de}}\n", "lm.yaml");
  const Config again = parse_config(to_yaml(lm), "again.yaml");
  EXPECT_EQ(again.model.type, ModelType::decoder_only);
  EXPECT_EQ(again.data.train.text, "a.de");
  EXPECT_EQ(to_yaml(lm).find("encoder_layers"), std::string::npos);
}

}  // namespace
}  // namespace rosetta
