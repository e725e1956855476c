// Copies of the model side by side in one process (train.replicas): how a
// batch is cut between them, their gradients against the whole batch's, and
// training with them repeating itself and resuming bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "rosetta/config/config.h"
#include "rosetta/data/batcher.h"
#include "rosetta/error.h"
#include "rosetta/model/transformer.h"
#include "rosetta/tensor/random.h"
#include "rosetta/train/model_replicas.h"
#include "rosetta/train/trainer.h"
#include "testing/temp_dir.h"
#include "testing/tiny_run.h"

namespace rosetta {
namespace {

using testing::logged_losses;

Batch batch_of(const std::vector<std::vector<int32_t>>& sources, const std::vector<std::vector<int32_t>>& targets) {
  Batch batch;
  std::vector<std::vector<int32_t>> src = sources, tgt_in, tgt_out;
  for (auto& s : src) {
    s.push_back(kEosId);
    batch.source_tokens += static_cast<int64_t>(s.size());
  }
  for (const auto& t : targets) {
    tgt_in.push_back({kBosId});
    tgt_in.back().insert(tgt_in.back().end(), t.begin(), t.end());
    tgt_out.push_back(t);
    tgt_out.back().push_back(kEosId);
    batch.target_tokens += static_cast<int64_t>(tgt_out.back().size());
  }
  batch.src = TokenMatrix::from_rows(src, kPadId);
  batch.tgt_in = TokenMatrix::from_rows(tgt_in, kPadId);
  batch.tgt_out = TokenMatrix::from_rows(tgt_out, kPadId);
  return batch;
}

TEST(SplitBatch, PiecesTakeEveryOtherSentenceTrimmedAndAddUp) {
  const Batch batch = batch_of({{5, 6, 7, 8, 9}, {5}, {6, 7}, {8}, {9, 9, 9}},
                               {{10, 11}, {12, 13, 14, 15}, {10}, {11, 12}, {13}});
  const std::vector<Batch> pieces = split_batch(batch, 2);
  ASSERT_EQ(pieces.size(), 2u);
  // Sentences 0, 2, 4 and 1, 3.
  EXPECT_EQ(pieces[0].src.rows, 3);
  EXPECT_EQ(pieces[1].src.rows, 2);
  EXPECT_EQ(pieces[0].src.cols, 6);  // the longest source there: 5 pieces + EOS
  EXPECT_EQ(pieces[1].src.cols, 2);  // the whole batch's is 6
  EXPECT_EQ(pieces[1].tgt_out.cols, 5);
  EXPECT_EQ(pieces[0].tgt_out.cols, 3);
  EXPECT_EQ(pieces[1].src.at(1, 0), 8);
  EXPECT_EQ(pieces[1].tgt_in.at(0, 4), 15);
  EXPECT_EQ(pieces[0].tgt_out.at(2, 1), kEosId);
  EXPECT_EQ(pieces[0].target_tokens, 3 + 2 + 2);
  EXPECT_EQ(pieces[1].target_tokens, 5 + 3);
  EXPECT_EQ(pieces[0].target_tokens + pieces[1].target_tokens, batch.target_tokens);
  EXPECT_EQ(pieces[0].source_tokens + pieces[1].source_tokens, batch.source_tokens);
  // Fewer sentences than pieces: the last is empty.
  const std::vector<Batch> three = split_batch(batch_of({{5}, {6}}, {{7}, {8}}), 3);
  EXPECT_EQ(three[2].tgt_out.rows, 0);
  EXPECT_EQ(three[2].target_tokens, 0);
  EXPECT_EQ(three[1].tgt_out.at(0, 0), 8);
}

ModelConfig small_model(float dropout) {
  return ModelConfig{.vocab_size = 17, .d_model = 8, .heads = 2, .ffn = 16, .encoder_layers = 2,
                     .decoder_layers = 2, .dropout = dropout, .attention_dropout = dropout,
                     .activation_dropout = dropout, .max_positions = 64};
}

// Without dropout, two replicas' summed gradients are the whole batch's
// (fp32; only the order of the sums differs), and so is the loss.
TEST(ModelReplicas, GradientsAddUpToTheWholeBatchs) {
  Rng init(3);
  Transformer model(small_model(0.0f), init);
  const Batch batch = batch_of({{5, 6, 7, 8, 9}, {5}, {6, 7}, {8, 9, 10}, {9, 9, 9}},
                               {{10, 11}, {12, 13, 14, 15}, {10}, {11, 12, 4}, {13}});
  double whole_nll = 0;
  Var loss = model.loss(batch.src, batch.tgt_in, batch.tgt_out, 0.1f, nullptr, &whole_nll);
  backward(loss);
  std::vector<Tensor> whole;
  for (auto& [name, p] : model.named_parameters()) {
    whole.push_back(p.grad());
    p.zero_grad();
  }
  ModelReplicas replicas(model, 2, 2);
  const ModelReplicas::Sums sums = replicas.forward_backward(batch, batch.target_tokens, 0.1f, 99);
  const double tokens = static_cast<double>(batch.target_tokens);
  EXPECT_NEAR(sums.loss / tokens, loss.value().item(), 1e-5);
  EXPECT_NEAR(sums.nll / tokens, whole_nll, 1e-5);
  const auto parameters = model.named_parameters();
  for (size_t i = 0; i < parameters.size(); ++i) {
    const Tensor& got = parameters[i].second.grad();
    ASSERT_TRUE(got.defined()) << parameters[i].first;
    double worst = 0, scale = 1e-6;
    for (int64_t k = 0; k < got.numel(); ++k) {
      worst = std::max(worst, static_cast<double>(std::abs(got.data()[k] - whole[i].data()[k])));
      scale = std::max(scale, static_cast<double>(std::abs(whole[i].data()[k])));
    }
    EXPECT_LT(worst, 1e-5 * scale + 1e-7) << parameters[i].first;
  }
}

// The replicas follow the model: after it changes, copy_values brings
// theirs along (a replica on stale values would give another gradient).
TEST(ModelReplicas, TakeTheModelsValuesAfterAnUpdate) {
  Rng init(4);
  Transformer model(small_model(0.0f), init);
  ModelReplicas replicas(model, 2, 2);
  const Batch batch = batch_of({{5, 6}, {7, 8}}, {{9, 10}, {11, 12}});
  for (auto& [name, p] : model.named_parameters()) {
    float* v = p.mutable_value().data();
    for (int64_t k = 0; k < p.value().numel(); ++k) v[k] *= 0.5f;
  }
  replicas.copy_values();
  const ModelReplicas::Sums sums = replicas.forward_backward(batch, batch.target_tokens, 0.0f, 1);
  for (auto& [name, p] : model.named_parameters()) p.zero_grad();
  Var loss = model.loss(batch.src, batch.tgt_in, batch.tgt_out, 0.0f, nullptr);
  EXPECT_NEAR(sums.loss / static_cast<double>(batch.target_tokens), loss.value().item(), 1e-5);
}

// With dropout: a run with two replicas repeats itself, resumes bit for bit,
// learns as one replica does, and differs from it (its own dropout masks).
TEST(ModelReplicas, TrainingWithTwoRepeatsAndResumesBitForBit) {
  testing::TempDir straight, resumed, one;
  const std::vector<std::string> common = {"train.log_every=1", "train.valid_every=0", "train.save_every=1000",
                                           "model.dropout=0.1", "model.attention_dropout=0.1", "train.threads=2"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), common.begin(), common.end());
    return extra;
  };
  train(testing::tiny_config(straight, with({"train.max_steps=16", "train.replicas=2"})));
  train(testing::tiny_config(resumed, with({"train.max_steps=8", "train.replicas=2"})));
  EXPECT_EQ(train(testing::tiny_config(resumed, with({"train.max_steps=16", "train.replicas=2"}))).steps, 16);
  train(testing::tiny_config(one, with({"train.max_steps=16", "train.replicas=1"})));
  const auto a = logged_losses(straight.path("run/metrics.jsonl"));
  const auto b = logged_losses(resumed.path("run/metrics.jsonl"));
  const auto c = logged_losses(one.path("run/metrics.jsonl"));
  ASSERT_EQ(a.size(), 16u);
  ASSERT_EQ(c.size(), 16u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_LT(a.back(), a.front() * 0.8);  // it learns
  EXPECT_NEAR(a.back(), c.back(), 0.25 * c.back());
}

// Language models split their batches too: a decoder-only model's batch
// has no source, a masked model's no decoder input.
TEST(ModelReplicas, LanguageModelsTrainWithTwo) {
  for (const bool masked : {false, true}) {
    testing::TempDir dir;
    const std::vector<std::string> overrides = {"train.log_every=1", "train.valid_every=0", "train.max_steps=12",
                                                "train.threads=2", "train.replicas=2"};
    train(masked ? testing::tiny_mlm_config(dir, overrides) : testing::tiny_lm_config(dir, overrides));
    const auto losses = logged_losses(dir.path("run/metrics.jsonl"));
    ASSERT_EQ(losses.size(), 12u) << (masked ? "masked" : "decoder-only");
    for (const double loss : losses) EXPECT_TRUE(std::isfinite(loss));
    EXPECT_LT(losses.back(), losses.front()) << (masked ? "masked" : "decoder-only");
  }
}

TEST(ModelReplicas, MoreReplicasThanThreadsIsAConfigError) {
  testing::TempDir dir;
  try {
    testing::tiny_config(dir, {"train.threads=1", "train.replicas=2"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train.replicas"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rosetta
