// The trainer's accumulation and its limits, each against a count or a value
// worked out apart from the trainer: gradient accumulation (update_freq)
// against gradients accumulated here, the EMA across a resume against an
// uninterrupted run and its recurrence, early stopping, max_epochs and
// max_time against the numbers of validations, batches and seconds they
// allow, and a damaged corpus cache against a fresh encoding.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "rosetta/data/batcher.h"
#include "rosetta/data/corpus.h"
#include "rosetta/model/checkpoint.h"
#include "rosetta/model/transformer.h"
#include "rosetta/ops/ops.h"
#include "rosetta/train/trainer.h"
#include "testing/temp_dir.h"
#include "testing/tiny_run.h"

namespace rosetta {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::tiny_config;

using Values = std::vector<std::vector<double>>;  // one vector per parameter

std::vector<double> widen(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// One JSON number field of each metrics.jsonl line of a type.
std::vector<double> metric(const std::string& metrics, const std::string& type, const std::string& field) {
  std::ifstream in(metrics);
  std::vector<double> values;
  for (std::string line; std::getline(in, line);) {
    const auto at = line.find("\"" + field + "\":");
    if (line.find("\"type\":\"" + type + "\"") != std::string::npos && at != std::string::npos)
      values.push_back(std::stod(line.substr(at + field.size() + 3)));
  }
  return values;
}

Checkpoint step_checkpoint(const TempDir& dir, int64_t step) {
  char name[64];
  std::snprintf(name, sizeof(name), "run/checkpoints/step-%08lld.ckpt", static_cast<long long>(step));
  return load_checkpoint(dir.path(name));
}

// The training corpus as the trainer reads it, encoded afresh (no cache).
ParallelCorpus training_corpus(const Config& config, const Vocabularies& vocabularies) {
  return ParallelCorpus::load(config.data.train, vocabularies, {config.data.max_len, config.data.max_length_ratio}, "",
                              false);
}

// Collects what the default logger says while it lives.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(text_)) {
    sink_->set_pattern("%l: %v");
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~LogCapture() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::string text() const { return text_.str(); }

 private:
  std::ostringstream text_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

// ---------------------------------------------------------------- update_freq

// Label-smoothed cross-entropy of one batch, by hand in double: the mean over
// target tokens of (1 - eps) (-log p[target]) + eps / V * sum_v (-log p[v]).
double batch_loss(const Transformer& model, const Batch& batch, double eps) {
  NoGradGuard no_grad;
  const auto logits = model.forward(batch.src, batch.tgt_in, nullptr).value().to_vector();
  const int64_t vocab = model.config().vocab_size;
  double total = 0;
  int64_t tokens = 0;
  for (size_t r = 0; r < batch.tgt_out.ids.size(); ++r) {
    const int32_t target = batch.tgt_out.ids[r];
    if (target == kPadId) continue;
    const float* row = logits.data() + r * vocab;
    const double top = *std::max_element(row, row + vocab);
    double sum = 0, all = 0;
    for (int64_t v = 0; v < vocab; ++v) sum += std::exp(row[v] - top);
    const double log_z = top + std::log(sum);
    for (int64_t v = 0; v < vocab; ++v) all += log_z - row[v];
    total += (1 - eps) * (log_z - row[target]) + eps / static_cast<double>(vocab) * all;
    ++tokens;
  }
  EXPECT_EQ(tokens, batch.target_tokens);
  return total / static_cast<double>(tokens);
}

// Gradient of one batch's mean loss (the trainer's loss op, one backward).
Values batch_gradient(const Transformer& model, const Batch& batch, float eps) {
  for (auto& [name, var] : model.named_parameters()) var.zero_grad();
  const Var logits = model.forward(batch.src, batch.tgt_in, nullptr);
  backward(ops::cross_entropy(ops::reshape(logits, {-1, model.config().vocab_size}), batch.tgt_out.ids, eps, kPadId));
  Values g;
  for (const auto& [name, var] : model.named_parameters()) g.push_back(widen(var.grad().to_vector()));
  return g;
}

// update_freq = 2: one update takes two batches, its gradient is the
// token-weighted mean of theirs (not their plain mean), its logged loss the
// token-weighted mean of their losses, and K updates consume 2K batches.
TEST(TrainingLimits, UpdateFreqAccumulatesTheTokenWeightedMeanOfTwoBatches) {
  TempDir dir;
  const Config config = tiny_config(dir, {"train.update_freq=2", "train.max_steps=3", "train.log_every=1",
                                          "train.valid_every=0", "train.save_every=1"});
  Values initial, accumulated;
  TrainHooks hooks;
  hooks.after_backward = [&](int64_t step, const nn::NamedParameters& parameters) {
    if (step != 1) return;
    for (const auto& [name, var] : parameters) {
      initial.push_back(widen(var.value().to_vector()));
      accumulated.push_back(widen(var.grad().to_vector()));
    }
  };
  const TrainResult result = train(config, hooks);
  ASSERT_EQ(result.steps, 3);
  ASSERT_FALSE(initial.empty());
  for (int64_t step = 1; step <= 3; ++step) {
    const Checkpoint c = step_checkpoint(dir, step);
    EXPECT_EQ(c.text("state/data_epoch"), "1");
    EXPECT_EQ(c.text("state/data_batch"), std::to_string(2 * step)) << "batches consumed by update " << step;
  }

  // The first two batches of the run, from the data layer, and the model as
  // it was before the first update.
  const Checkpoint last = step_checkpoint(dir, 3);
  const Vocabularies vocabularies = Vocabularies::from_texts(last.texts, "the checkpoint");
  const ParallelCorpus corpus = training_corpus(config, vocabularies);
  BatchStream stream(corpus, make_batches(corpus, config.train.batch_tokens, config.train.seed), config.train.seed, {});
  const Batch b1 = stream.next(), b2 = stream.next();
  ModelConfig model_config = config.model;
  model_config.vocab_size = vocabularies.target->vocab_size();
  model_config.src_vocab_size = vocabularies.source->vocab_size();
  Rng rng(12345);
  const Transformer model(model_config, rng);
  const auto parameters = model.named_parameters();
  ASSERT_EQ(parameters.size(), initial.size());
  for (size_t k = 0; k < parameters.size(); ++k) {
    Var p = parameters[k].second;
    ASSERT_EQ(static_cast<size_t>(p.value().numel()), initial[k].size());
    for (size_t i = 0; i < initial[k].size(); ++i) p.mutable_value().data()[i] = static_cast<float>(initial[k][i]);
  }

  const double n1 = static_cast<double>(b1.target_tokens), n2 = static_cast<double>(b2.target_tokens);
  ASSERT_NE(n1, n2) << "equal batches could not tell a token-weighted mean from a plain one";
  const float eps = config.train.label_smoothing;
  const double expected_loss = (n1 * batch_loss(model, b1, eps) + n2 * batch_loss(model, b2, eps)) / (n1 + n2);
  const auto logged = metric(dir.path("run/metrics.jsonl"), "train", "loss");
  ASSERT_EQ(logged.size(), 3u);
  EXPECT_NEAR(logged[0], expected_loss, 1e-5 * expected_loss);

  const Values g1 = batch_gradient(model, b1, eps), g2 = batch_gradient(model, b2, eps);
  double scale = 0, worst = 0, plain_gap = 0;
  for (const auto& p : g1)
    for (double x : p) scale = std::max(scale, std::abs(x));
  for (size_t k = 0; k < g1.size(); ++k)
    for (size_t i = 0; i < g1[k].size(); ++i) {
      const double want = (n1 * g1[k][i] + n2 * g2[k][i]) / (n1 + n2);
      ASSERT_NEAR(accumulated[k][i], want, 1e-5 * std::abs(want) + 1e-6 * scale) << parameters[k].first << "[" << i << "]";
      worst = std::max(worst, std::abs(accumulated[k][i] - want));
      plain_gap = std::max(plain_gap, std::abs((g1[k][i] + g2[k][i]) / 2 - want));
    }
  EXPECT_GT(plain_gap, 100 * worst) << "the plain mean is as close as the token-weighted one";
}

// ---------------------------------------------------------------- EMA

// A run stopped at step 8 and resumed to 16 ends with the EMA weights of a
// run that went straight to 16, bit for bit; and those follow the EMA
// recurrence over the parameters after each update.
TEST(TrainingLimits, EmaSurvivesAResumeBitForBit) {
  const std::vector<std::string> common = {"train.ema_decay=0.75", "train.valid_every=0", "train.save_every=1000",
                                           "model.dropout=0.1"};
  auto with = [&](const std::string& extra) {
    std::vector<std::string> all = common;
    all.push_back(extra);
    return all;
  };
  TempDir straight_dir, resumed_dir;
  std::vector<Values> after;  // parameters after each update, from the hook of the next
  std::vector<std::string> names;
  TrainHooks hooks;
  hooks.after_backward = [&](int64_t step, const nn::NamedParameters& parameters) {
    ASSERT_EQ(step, static_cast<int64_t>(after.size()) + 1);
    Values v;
    for (const auto& [name, var] : parameters) {
      if (step == 1) names.push_back(name);
      v.push_back(widen(var.value().to_vector()));
    }
    after.push_back(std::move(v));
  };
  const TrainResult straight = train(tiny_config(straight_dir, with("train.max_steps=16")), hooks);
  const TrainResult first = train(tiny_config(resumed_dir, with("train.max_steps=8")));
  ASSERT_EQ(first.steps, 8);
  const TrainResult resumed = train(tiny_config(resumed_dir, with("train.max_steps=16")));
  ASSERT_EQ(straight.steps, 16);
  ASSERT_EQ(resumed.steps, 16);
  const Checkpoint a = load_checkpoint(straight.last_checkpoint), b = load_checkpoint(resumed.last_checkpoint);

  // The recurrence, in double: the shadow starts at the initial parameters.
  Values shadow = after[0];
  for (size_t s = 1; s <= 16; ++s)
    for (size_t k = 0; k < names.size(); ++k) {
      const std::vector<double> w =
          s < after.size() ? after[s][k] : widen(a.find_tensor("param/" + names[k])->to_vector());
      for (size_t i = 0; i < w.size(); ++i) shadow[k][i] = 0.75 * shadow[k][i] + 0.25 * w[i];
    }
  size_t differing_from_parameters = 0;
  for (size_t k = 0; k < names.size(); ++k) {
    const Tensor* ema_a = a.find_tensor("ema/" + names[k]);
    const Tensor* ema_b = b.find_tensor("ema/" + names[k]);
    ASSERT_TRUE(ema_a && ema_b) << names[k];
    const auto va = ema_a->to_vector(), vb = ema_b->to_vector(), p = a.find_tensor("param/" + names[k])->to_vector();
    ASSERT_EQ(va, vb) << "ema/" << names[k] << " after the resume";
    for (size_t i = 0; i < va.size(); ++i) {
      ASSERT_NEAR(va[i], shadow[k][i], 1e-6 * std::abs(shadow[k][i]) + 1e-7) << "ema/" << names[k] << "[" << i << "]";
      differing_from_parameters += va[i] != p[i];
    }
  }
  EXPECT_GT(differing_from_parameters, 1000u);  // the average is not the weights
}

// ---------------------------------------------------------------- early stopping

// With every gradient zeroed the weights never move, so validation BLEU
// never improves after the first validation: early_stopping = 3 with
// valid_every = 2 stops after the validations at 2 (a new best), 4, 6 and 8.
TEST(TrainingLimits, EarlyStoppingAfterNValidationsWithoutImprovement) {
  TempDir dir;
  TrainHooks frozen;
  frozen.after_backward = [](int64_t, const nn::NamedParameters& parameters) {
    for (const auto& [name, var] : parameters) {
      float* g = const_cast<float*>(var.grad().data());
      std::fill_n(g, var.grad().numel(), 0.0f);
    }
  };
  const TrainResult result = train(tiny_config(dir, {"train.max_steps=100", "train.valid_every=2",
                                                     "train.early_stopping=3", "train.save_every=1000"}),
                                   frozen);
  EXPECT_EQ(result.stop_reason, "early_stopping");
  EXPECT_EQ(result.steps, 8);
  const auto bleu = metric(dir.path("run/metrics.jsonl"), "valid", "valid_bleu");
  ASSERT_EQ(bleu.size(), 4u);
  for (double x : bleu) EXPECT_EQ(x, bleu[0]);
  EXPECT_EQ(metric(dir.path("run/metrics.jsonl"), "valid", "step"), (std::vector<double>{2, 4, 6, 8}));
  EXPECT_EQ(load_checkpoint(result.last_checkpoint).text("state/bad_validations"), "3");
}

// ---------------------------------------------------------------- max_epochs

// Batches in an epoch, counted by the data layer from the corpus alone.
size_t batches_per_epoch(const Config& config, const std::string& checkpoint) {
  const Vocabularies vocabularies = Vocabularies::from_texts(load_checkpoint(checkpoint).texts, "the checkpoint");
  return make_batches(training_corpus(config, vocabularies), config.train.batch_tokens, config.train.seed).size();
}

// max_epochs = E stops once E x (batches per epoch) batches are consumed:
// not one batch sooner or later, whatever the number of batches an update
// takes.
TEST(TrainingLimits, MaxEpochsStopsExactlyAtTheEpochBoundary) {
  TempDir one, two;
  const Config config1 = tiny_config(one, {"train.max_epochs=1", "train.valid_every=0", "train.save_every=1000"});
  const TrainResult r1 = train(config1);
  const int64_t per_epoch = static_cast<int64_t>(batches_per_epoch(config1, r1.last_checkpoint));
  ASSERT_GT(per_epoch, 3);
  EXPECT_EQ(r1.stop_reason, "max_epochs");
  EXPECT_EQ(r1.steps, per_epoch);
  EXPECT_EQ(r1.epochs, 1);
  const Checkpoint c1 = load_checkpoint(r1.last_checkpoint);
  EXPECT_EQ(c1.text("state/data_epoch"), "1");
  EXPECT_EQ(c1.text("state/data_batch"), std::to_string(per_epoch));

  const TrainResult r2 = train(tiny_config(two, {"train.max_epochs=2", "train.valid_every=0", "train.save_every=1000"}));
  EXPECT_EQ(r2.stop_reason, "max_epochs");
  EXPECT_EQ(r2.steps, 2 * per_epoch);
  EXPECT_EQ(r2.epochs, 2);

  // An update of f batches where f does not divide the epoch: the last
  // update of the epoch takes what is left of it.
  int64_t f = 2;
  while (per_epoch % f == 0) ++f;
  TempDir accumulated;
  const TrainResult rf = train(tiny_config(accumulated, {"train.max_epochs=1", "train.valid_every=0", "train.save_every=1000",
                                                         "train.update_freq=" + std::to_string(f)}));
  EXPECT_EQ(rf.stop_reason, "max_epochs");
  EXPECT_EQ(rf.epochs, 1);
  EXPECT_EQ(rf.steps, (per_epoch + f - 1) / f) << per_epoch << " batches, " << f << " an update";
  const Checkpoint cf = load_checkpoint(rf.last_checkpoint);
  EXPECT_EQ(cf.text("state/data_epoch"), "1");
  EXPECT_EQ(cf.text("state/data_batch"), std::to_string(per_epoch));
}

// ---------------------------------------------------------------- max_time

// A budget of half a second stops the run soon after it is spent, with the
// time saved; going on in the same run folder spends nothing more.
TEST(TrainingLimits, MaxTimeStopsTheRun) {
  TempDir dir;
  const Config config = tiny_config(dir, {"train.max_time=0.5s", "train.max_steps=1000000", "train.valid_every=0",
                                          "train.save_every=1000000"});
  const auto start = std::chrono::steady_clock::now();
  const TrainResult result = train(config);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(result.stop_reason, "max_time");
  EXPECT_GT(result.steps, 0);
  EXPECT_LT(result.steps, 1000000);
  const double elapsed = std::stod(load_checkpoint(result.last_checkpoint).text("state/elapsed"));
  EXPECT_GE(elapsed, 0.5);
  EXPECT_LT(elapsed, wall + 0.01);  // training time is part of the wall time
  EXPECT_LT(wall, 10.0);
  const TrainResult again = train(config);
  EXPECT_EQ(again.stop_reason, "max_time");
  EXPECT_EQ(again.steps, result.steps);
}

// ---------------------------------------------------------------- corpus cache

void expect_same_corpus(const ParallelCorpus& a, const ParallelCorpus& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_TRUE(std::ranges::equal(a.src(i), b.src(i))) << "pair " << i;
    ASSERT_TRUE(std::ranges::equal(a.tgt(i), b.tgt(i))) << "pair " << i;
  }
}

struct Damage {
  const char* name;
  void (*apply)(const std::string& path);
};

void flip_byte_at(const std::string& path, double where) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  const auto size = static_cast<std::streamoff>(fs::file_size(path));
  const std::streamoff at = static_cast<std::streamoff>(where * static_cast<double>(size));
  file.seekg(at);
  char c = 0;
  file.read(&c, 1);
  c ^= 0x01;  // a token id one off: still a valid-looking corpus
  file.seekp(at);
  file.write(&c, 1);
  ASSERT_TRUE(file.good()) << path;
}

void PrintTo(const Damage& d, std::ostream* os) { *os << d.name; }

class DamagedCache : public ::testing::TestWithParam<Damage> {};

// The run's cache, damaged, is not used: the corpus is encoded again, with
// a warning naming the file, equal to a fresh encoding, and the cache is
// written again.
TEST_P(DamagedCache, FallsBackToEncodingAgainWithAWarning) {
  TempDir dir;
  const Config config = tiny_config(dir, {"train.max_steps=1", "train.valid_every=0"});
  const TrainResult result = train(config);
  const Vocabularies vocabularies = Vocabularies::from_texts(load_checkpoint(result.last_checkpoint).texts, "the checkpoint");
  const ParallelCorpus fresh = training_corpus(config, vocabularies);
  const CorpusFilter filter{config.data.max_len, config.data.max_length_ratio};
  const std::string cache_dir = dir.path("run/cache");
  CorpusStats stats;
  expect_same_corpus(ParallelCorpus::load(config.data.train, vocabularies, filter, cache_dir, false, &stats), fresh);
  ASSERT_TRUE(stats.from_cache) << "the run left no cache of its training corpus";
  std::vector<std::string> caches;
  for (const auto& entry : fs::directory_iterator(cache_dir))
    if (entry.path().filename().string().starts_with("corpus.") && entry.path().extension() == ".bin")
      caches.push_back(entry.path().string());
  ASSERT_EQ(caches.size(), 2u);  // training and validation
  for (const auto& path : caches) GetParam().apply(path);

  LogCapture log;
  const ParallelCorpus reloaded = ParallelCorpus::load(config.data.train, vocabularies, filter, cache_dir, false, &stats);
  EXPECT_FALSE(stats.from_cache);
  expect_same_corpus(reloaded, fresh);
  const std::string said = log.text();
  EXPECT_NE(said.find("warning: "), std::string::npos) << said;
  EXPECT_NE(said.find("corpus cache"), std::string::npos) << said;
  // Rewritten: the next load reads it.
  expect_same_corpus(ParallelCorpus::load(config.data.train, vocabularies, filter, cache_dir, false, &stats), fresh);
  EXPECT_TRUE(stats.from_cache);
}

INSTANTIATE_TEST_SUITE_P(
    TrainingLimits, DamagedCache,
    ::testing::Values(Damage{"truncated_to_half", [](const std::string& p) { fs::resize_file(p, fs::file_size(p) / 2); }},
                      Damage{"truncated_by_one_byte", [](const std::string& p) { fs::resize_file(p, fs::file_size(p) - 1); }},
                      Damage{"empty", [](const std::string& p) { fs::resize_file(p, 0); }},
                      Damage{"flipped_in_the_tokens", [](const std::string& p) { flip_byte_at(p, 0.4); }},
                      Damage{"flipped_near_the_end", [](const std::string& p) { flip_byte_at(p, 0.97); }}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace rosetta
