// Masked language models (model.type: encoder_only): BERT's masking counted
// over many pieces against its stated rates, a trained model's validation
// accuracy, and the fill command.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "rosetta/data/batcher.h"
#include "rosetta/data/tokenizer.h"
#include "rosetta/decode/model_loader.h"
#include "rosetta/train/trainer.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"
#include "testing/tiny_run.h"

namespace rosetta {
namespace {

TEST(TokenMasking, FollowsBertsRatesAndTheSeed) {
  testing::TempDir dir;
  std::vector<std::string> lines;
  for (int i = 0; i < 400; ++i) lines.push_back("a b c d e f g h i j k l m n o p q r s t");
  const std::string text = dir.write_lines("text.txt", lines);
  const Vocabularies vocab = Vocabularies::shared(
      Tokenizer::train({.inputs = {text}, .vocab_size = 40, .user_symbols = {kMaskPiece}}, dir.path("spm.model")));
  const int32_t mask_id = vocab.target->id_of(kMaskPiece);
  ASSERT_EQ(mask_id, 4);  // right after pad, unk, bos, eos
  const ParallelCorpus corpus = ParallelCorpus::load({.text = text}, vocab, {}, "", false);
  std::vector<uint32_t> all(corpus.size());
  for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
  const TokenMasking masking{.enabled = true, .mask_id = mask_id, .first_random_id = 5, .vocab_size = vocab.target->vocab_size()};
  const Batch batch = collate(corpus, all, {}, 42, masking);
  int64_t pieces = 0, chosen = 0, masked = 0, kept = 0, changed_unchosen = 0;
  for (size_t r = 0; r < corpus.size(); ++r) {
    const auto original = corpus.tgt(r);
    ASSERT_EQ(batch.src.at(r, static_cast<int64_t>(original.size())), kEosId);  // EOS ends the input, never masked
    EXPECT_EQ(batch.tgt_out.at(r, static_cast<int64_t>(original.size())), kPadId);
    int64_t in_row = 0;
    for (size_t t = 0; t < original.size(); ++t, ++pieces) {
      const int32_t in = batch.src.at(r, static_cast<int64_t>(t)), label = batch.tgt_out.at(r, static_cast<int64_t>(t));
      if (label == kPadId) {
        changed_unchosen += in != original[t];
        continue;
      }
      EXPECT_EQ(label, original[t]);
      ++chosen;
      ++in_row;
      masked += in == mask_id;
      kept += in == original[t];
      EXPECT_TRUE(in == mask_id || in >= 5) << in;  // a random piece is never a special one
    }
    EXPECT_GE(in_row, 1);
  }
  EXPECT_EQ(changed_unchosen, 0);
  EXPECT_EQ(batch.target_tokens, chosen);
  // ~8,000 pieces: the shares within a few standard errors of 15%, 80%, 10% (+ a random piece that happens to be the same).
  EXPECT_NEAR(static_cast<double>(chosen) / pieces, 0.15, 0.015);
  EXPECT_NEAR(static_cast<double>(masked) / chosen, 0.80, 0.04);
  EXPECT_NEAR(static_cast<double>(kept) / chosen, 0.10 + 0.10 / 35, 0.03);
  const Batch again = collate(corpus, all, {}, 42, masking), other = collate(corpus, all, {}, 43, masking);
  EXPECT_EQ(again.src.ids, batch.src.ids);
  EXPECT_NE(other.src.ids, batch.src.ids);
}

class MaskedLanguageModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    result_ = new TrainResult(train(testing::tiny_mlm_config(*dir_, {"train.max_steps=150", "train.valid_every=150"})));
  }
  static void TearDownTestSuite() {
    delete result_;
    delete dir_;
  }
  static inline testing::TempDir* dir_ = nullptr;
  static inline TrainResult* result_ = nullptr;
};

TEST_F(MaskedLanguageModel, ValidatesByPerplexityAndAccuracy) {
  std::istringstream metrics(testing::read_text(dir_->path("run/metrics.jsonl")));
  double accuracy = -1, ppl = -1;
  for (std::string line; std::getline(metrics, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j["type"] != "valid") continue;
    accuracy = j["valid_accuracy"].get<double>();
    ppl = j["valid_ppl"].get<double>();
  }
  // Ten words in random order: a masked word is one of ten, a guess right
  // about one time in ten; better than the 1 in ~30 of an untrained model.
  EXPECT_GT(accuracy, 0.06);
  EXPECT_LT(accuracy, 0.5);
  EXPECT_GT(ppl, 1.0);
  EXPECT_LT(ppl, 16.0);
  EXPECT_NEAR(result_->best_ppl, ppl, 1e-9);
}

TEST_F(MaskedLanguageModel, FillNamesCandidatesForEachMask) {
  const std::string base = testing::rosetta_binary() + " fill -m " + result_->best_checkpoint;
  auto r = testing::run_command(base + " --input 'red <mask> sits <mask>' --top-k 3 --json", true);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output);
  ASSERT_EQ(j["masks"].size(), 2u);
  for (const auto& m : j["masks"]) {
    ASSERT_EQ(m["candidates"].size(), 3u);
    double previous = 1;
    for (const auto& c : m["candidates"]) {
      EXPECT_LE(c["prob"].get<double>(), previous);
      previous = c["prob"].get<double>();
      EXPECT_NE(c["piece"].get<std::string>(), kMaskPiece);
    }
  }
  EXPECT_EQ(j["filled"].get<std::string>().find("<mask>"), std::string::npos);
  r = testing::run_command(base + " --input 'red cat'");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("no <mask> to fill"), std::string::npos) << r.output;
  r = testing::run_command(testing::rosetta_binary() + " generate -m " + result_->best_checkpoint);
  EXPECT_NE(r.exit_code, 0);
}

}  // namespace
}  // namespace rosetta
