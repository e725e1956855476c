// Head statistics against values worked out by hand, head masking against
// what it must do to the model, and the `rosetta heads` command.
#include "rosetta/inspect/head_statistics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rosetta/decode/model_loader.h"
#include "rosetta/error.h"
#include "rosetta/inspect/head_ablation.h"
#include "rosetta/train/trainer.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"
#include "testing/tiny_run.h"

namespace rosetta {
namespace {

// One layer, one head of each kind; source "a b </s>", target "x </s>".
AttentionMap hand_made_map() {
  AttentionMap map;
  map.source = {"a", "b", "</s>"};
  map.target_in = {"<s>", "x"};
  map.target_out = {"x", "</s>"};
  map.encoder_self = {{{{0.5f, 0.25f, 0.25f}, {1.0f, 0.0f, 0.0f}, {0.0f, 0.5f, 0.5f}}}};
  map.decoder_self = {{{{1.0f, 0.0f}, {0.25f, 0.75f}}}};
  map.cross = {{{{0.5f, 0.5f, 0.0f}, {0.0f, 0.0f, 1.0f}}}};
  return map;
}

TEST(HeadStatistics, MatchValuesWorkedOutByHand) {
  HeadStatisticsSum sum;
  sum.add(hand_made_map());
  sum.add(hand_made_map());  // twice: means do not change
  const std::vector<HeadStatistics> heads = sum.means();
  ASSERT_EQ(heads.size(), 3u);
  const HeadStatistics& enc = heads[0];
  EXPECT_EQ(enc.kind, "encoder_self");
  EXPECT_EQ(enc.queries, 6);
  // Largest weights 0.5, 1, 0.5 (the first of a tie: key 1 for query 2).
  EXPECT_NEAR(enc.confidence, 2.0 / 3, 1e-12);
  // Entropies 1.5, 0, 1 bits.
  EXPECT_NEAR(enc.entropy_bits, 2.5 / 3, 1e-12);
  // Weight on </s> (the last key): 0.25, 0, 0.5.
  EXPECT_NEAR(enc.boundary, 0.75 / 3, 1e-12);
  // Tops: query 0 -> 0 (same), 1 -> 0 (previous), 2 -> 1 (previous).
  EXPECT_NEAR(enc.previous, 2.0 / 3, 1e-12);
  EXPECT_NEAR(enc.same, 1.0 / 3, 1e-12);
  EXPECT_NEAR(enc.next, 0.0, 1e-12);
  const HeadStatistics& dec = heads[1];
  EXPECT_EQ(dec.kind, "decoder_self");
  EXPECT_NEAR(dec.confidence, 0.875, 1e-12);
  EXPECT_NEAR(dec.entropy_bits, (0.25 * 2 + 0.75 * std::log2(4.0 / 3)) / 2, 1e-6);
  EXPECT_NEAR(dec.boundary, 0.625, 1e-12);  // on <s>, the first key
  EXPECT_NEAR(dec.same, 1.0, 1e-12);
  EXPECT_TRUE(std::isnan(dec.next));
  const HeadStatistics& cross = heads[2];
  EXPECT_NEAR(cross.confidence, 0.75, 1e-12);
  EXPECT_NEAR(cross.entropy_bits, 0.5, 1e-12);
  EXPECT_NEAR(cross.boundary, 0.5, 1e-12);
  EXPECT_TRUE(std::isnan(cross.previous) && std::isnan(cross.same) && std::isnan(cross.next));

  AttentionMap other = hand_made_map();
  other.cross.push_back(other.cross.front());  // a second layer: another model
  EXPECT_THROW(sum.add(other), Error);

  HeadReport report{.heads = heads, .sentences = 2, .bleu = 30.0, .ablated = {29.5, 30.25, 20.0}};
  const std::string table = head_table(report);
  EXPECT_NE(table.find("encoder_self      0    0       0.67     0.83     0.25     0.67   0.33   0.00      0.50"),
            std::string::npos) << table;
  EXPECT_NE(table.find("cross             0    0       0.75     0.50     0.50        -      -      -     10.00"),
            std::string::npos) << table;
  std::istringstream lines(head_json_lines(report));
  std::string line;
  std::getline(lines, line);
  std::getline(lines, line);
  const nlohmann::json second = nlohmann::json::parse(line);
  EXPECT_EQ(second["kind"], "decoder_self");
  EXPECT_TRUE(second["next"].is_null());
  EXPECT_DOUBLE_EQ(second["bleu_lost"].get<double>(), -0.25);
}

class HeadMasking : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    checkpoint_ = train(testing::tiny_config(*dir_, {"train.valid_every=0", "train.max_steps=60"})).last_checkpoint;
  }
  static void TearDownTestSuite() { delete dir_; }
  static inline testing::TempDir* dir_ = nullptr;
  static inline std::string checkpoint_;

  static std::vector<float> logits(const Transformer& model, const std::vector<int32_t>& source) {
    const Tensor out = model.forward(TokenMatrix::from_rows({source}, kPadId), TokenMatrix::from_rows({{kBosId, 5, 6}}, kPadId),
                                     nullptr)
                           .value();
    return std::vector<float>(out.data(), out.data() + out.numel());
  }
};

TEST_F(HeadMasking, ZeroesTheHeadsColumnsAndPutsThemBack) {
  const LoadedModel loaded = load_model(checkpoint_);
  const Transformer& model = *loaded.model;
  const std::vector<int32_t> a = {5, 6, 7, kEosId}, b = {8, 9, kEosId};
  const std::vector<float> before = logits(model, a);
  Var weight;
  for (const auto& [name, p] : model.named_parameters())
    if (name == "decoder.layers.0.cross_attn.out_proj.weight") weight = p;
  ASSERT_TRUE(weight.defined());
  const int64_t d = weight.value().dim(1), dh = d / model.config().heads;
  {
    const HeadAblation masked(model, "cross", 0, 1);
    for (int64_t r = 0; r < weight.value().dim(0); ++r)
      for (int64_t c = 0; c < d; ++c)
        if (c >= dh && c < 2 * dh) {
          EXPECT_EQ(weight.value().data()[r * d + c], 0.0f);
        }
    // Head 0 still reads the source: the output still depends on it.
    EXPECT_NE(logits(model, a), before);
    EXPECT_NE(logits(model, a), logits(model, b));
    {
      const HeadAblation also(model, "cross", 0, 0);
      // With every cross-attention head of the (only) decoder layer masked,
      // the decoder no longer sees the source.
      EXPECT_EQ(logits(model, a), logits(model, b));
    }
  }
  EXPECT_EQ(logits(model, a), before);  // put back, bit for bit
  EXPECT_THROW(HeadAblation(model, "cross", 1, 0), Error);
  EXPECT_THROW(HeadAblation(model, "cross", 0, 2), Error);
  EXPECT_THROW(HeadAblation(model, "lateral", 0, 0), Error);
}

TEST_F(HeadMasking, CommandReportsEveryHead) {
  const std::vector<std::string> lines = testing::copy_lines(20, 7);
  const std::string src = dir_->write_lines("heads.src", lines), tgt = dir_->write_lines("heads.tgt", lines);
  auto r = testing::run_command(testing::rosetta_binary() + " heads -m " + checkpoint_ + " --src " + src + " --tgt " +
                                tgt + " --ablate --json -b 2", /*stdout_only=*/true);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream out(r.output);
  std::string line;
  int n = 0;
  while (std::getline(out, line)) {
    const nlohmann::json head = nlohmann::json::parse(line);
    EXPECT_EQ(head["queries"].get<int64_t>() > 0, true);
    EXPECT_NEAR(head["bleu_lost"].get<double>(), head["bleu"].get<double>() - head["bleu_ablated"].get<double>(), 1e-9);
    ++n;
  }
  EXPECT_EQ(n, 3 * 1 * 2);  // tiny.yaml: 1 + 1 layers, 2 heads; three kinds
  r = testing::run_command(testing::rosetta_binary() + " heads -m " + checkpoint_ + " --src " + src + " --ablate");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--ablate needs --tgt"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace rosetta
