// Training end to end on data the tests write: a copy task learnt to
// near-perfect BLEU, exact resume, stop requests, non-finite updates skipped,
// and checkpoint averaging.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "rosetta/decode/model_loader.h"
#include "rosetta/decode/translator.h"
#include "rosetta/tensor/threads.h"
#include "rosetta/error.h"
#include "rosetta/eval/bleu.h"
#include "rosetta/model/checkpoint.h"
#include "rosetta/ops/precision.h"
#include "rosetta/train/stop_signal.h"
#include "rosetta/train/optimizer.h"
#include "rosetta/train/checkpoint_average.h"
#include "rosetta/train/trainer.h"
#include "testing/temp_dir.h"
#include "testing/tiny_run.h"

namespace rosetta {
namespace {

using testing::TempDir;

using testing::copy_lines;  // copy task: the target is the source
using testing::logged_losses;
using testing::tiny_config;

TEST(Training, LearnsTheCopyTaskToNearPerfectBleu) {
  TempDir dir;
  const Config config = tiny_config(dir, {"train.max_steps=300", "train.valid_every=300"});
  const TrainResult result = train(config);
  EXPECT_EQ(result.steps, 300);
  EXPECT_EQ(result.stop_reason, "max_steps");
  EXPECT_GT(result.best_bleu, 90.0);
  const auto losses = logged_losses(dir.path("run/metrics.jsonl"));
  ASSERT_GE(losses.size(), 10u);
  EXPECT_LT(losses.back(), losses.front() / 3);  // the loss comes down
  EXPECT_TRUE(std::filesystem::exists(dir.path("run/progress.svg")));
  EXPECT_TRUE(std::filesystem::exists(dir.path("run/config.yaml")));
  // The best checkpoint translates on its own.
  const LoadedModel loaded = load_model(result.best_checkpoint);
  const Translator translator(*loaded.model, loaded.vocabularies, {.beam_size = 3}, 16, 32);
  const auto test = copy_lines(30, 3);
  EXPECT_GT(corpus_bleu(translator.translate_best(test), {test}).score, 90.0);
  // Beam results do not depend on the batch size.
  const Translator one_by_one(*loaded.model, loaded.vocabularies, {.beam_size = 3}, 1, 32);
  EXPECT_EQ(one_by_one.translate_best(test), translator.translate_best(test));
  // Nor on the thread count: with 2 threads two workers decode batches of 8 at once.
  const int threads = num_threads();
  set_num_threads(1);
  const auto single = translator.translate(test);
  set_num_threads(2);
  const auto parallel = translator.translate(test);
  set_num_threads(threads);
  ASSERT_EQ(single.size(), parallel.size());
  for (size_t i = 0; i < single.size(); ++i) {
    EXPECT_EQ(single[i].texts, parallel[i].texts) << "line " << i;
    EXPECT_EQ(single[i].scores, parallel[i].scores) << "line " << i;
  }
}

class Resume : public ::testing::TestWithParam<bool> {};

// With subword sampling too: each batch's segmentations depend on its
// position in the data, not on what the process sampled before.
TEST_P(Resume, ResumedRunRepeatsTheUninterruptedOneExactly) {
  TempDir straight_dir, resumed_dir;
  const std::vector<std::string> common = {"train.log_every=1", "train.valid_every=0", "train.save_every=1000",
                                           "model.dropout=0.1", "model.attention_dropout=0.1",
                                           std::string("vocab.sampling=") + (GetParam() ? "true" : "false")};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), common.begin(), common.end());
    return extra;
  };
  train(tiny_config(straight_dir, with({"train.max_steps=24"})));
  train(tiny_config(resumed_dir, with({"train.max_steps=12"})));
  const TrainResult resumed = train(tiny_config(resumed_dir, with({"train.max_steps=24"})));
  EXPECT_EQ(resumed.steps, 24);
  const auto a = logged_losses(straight_dir.path("run/metrics.jsonl"));
  const auto b = logged_losses(resumed_dir.path("run/metrics.jsonl"));
  ASSERT_EQ(a.size(), 24u);
  ASSERT_EQ(b.size(), 24u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "step " << i + 1;  // bit-identical
}

INSTANTIATE_TEST_SUITE_P(Sampling, Resume, ::testing::Bool());

// Language models resume as exactly: the masks of a masked LM depend on the
// batch's position in the data, as dropout does.
class MonolingualResume : public ::testing::TestWithParam<bool> {};

TEST_P(MonolingualResume, ResumedRunRepeatsTheUninterruptedOneExactly) {
  TempDir straight_dir, resumed_dir;
  const auto config = [&](const TempDir& dir, const std::string& steps) {
    const std::vector<std::string> overrides = {"train.log_every=1", "train.valid_every=0", "train.save_every=1000",
                                                "model.dropout=0.1", "train.max_steps=" + steps};
    return GetParam() ? testing::tiny_mlm_config(dir, overrides) : testing::tiny_lm_config(dir, overrides);
  };
  train(config(straight_dir, "16"));
  train(config(resumed_dir, "8"));
  EXPECT_EQ(train(config(resumed_dir, "16")).steps, 16);
  const auto a = logged_losses(straight_dir.path("run/metrics.jsonl"));
  const auto b = logged_losses(resumed_dir.path("run/metrics.jsonl"));
  ASSERT_EQ(a.size(), 16u);
  ASSERT_EQ(b.size(), 16u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "step " << i + 1;  // bit-identical
}

INSTANTIATE_TEST_SUITE_P(Masked, MonolingualResume, ::testing::Bool());

// bf16 matmuls are as deterministic as fp32 ones: a resumed bf16 run repeats the uninterrupted one.
TEST(Resume, Bf16RunResumesBitForBit) {
  if (ops::native_bf16_isa().empty()) GTEST_SKIP() << "no native bf16 on this CPU";
  TempDir straight_dir, resumed_dir;
  const std::vector<std::string> common = {"train.log_every=1", "train.valid_every=0", "train.save_every=1000",
                                           "train.precision=bf16", "model.dropout=0.1"};
  auto with = [&](std::string steps) {
    std::vector<std::string> all = common;
    all.push_back("train.max_steps=" + steps);
    return all;
  };
  train(tiny_config(straight_dir, with("12")));
  train(tiny_config(resumed_dir, with("6")));
  train(tiny_config(resumed_dir, with("12")));
  const auto a = logged_losses(straight_dir.path("run/metrics.jsonl"));
  const auto b = logged_losses(resumed_dir.path("run/metrics.jsonl"));
  ASSERT_EQ(a.size(), 12u);
  EXPECT_EQ(a, b);
  EXPECT_EQ(ops::precision(), ops::Precision::fp32);  // the run's precision ends with the run
}

std::string resume_error(const Config& config) {
  try {
    train(config);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// The saved data position indexes one batch plan: resuming with what made another must say so, naming the key.
TEST(Resume, RefusesAChangedBatchPlanNamingWhatChanged) {
  TempDir dir;
  train(tiny_config(dir, {"train.max_steps=2", "train.valid_every=0"}));
  const std::string tokens = resume_error(tiny_config(dir, {"train.max_steps=4", "train.batch_tokens=64"}));
  EXPECT_NE(tokens.find("train.batch_tokens is 64"), std::string::npos) << tokens;
  const std::string seed = resume_error(tiny_config(dir, {"train.max_steps=4", "train.seed=99"}));
  EXPECT_NE(seed.find("train.seed is 99"), std::string::npos) << seed;
  const std::string filter = resume_error(tiny_config(dir, {"train.max_steps=4", "data.max_len=6"}));
  EXPECT_NE(filter.find("training data are not those"), std::string::npos) << filter;
  // update_freq regroups the same batches: allowed, with a warning.
  EXPECT_EQ(train(tiny_config(dir, {"train.max_steps=4", "train.update_freq=2"})).steps, 4);
}

// OpenMP's reductions add in arrival order; ours do not, so runs repeat bit for bit at any thread count.
TEST(Training, TwoRunsWithFourThreadsGiveIdenticalLosses) {
  TempDir a, b;
  const std::vector<std::string> settings = {"train.max_steps=6", "train.log_every=1", "train.valid_every=0",
                                             "train.threads=4"};
  train(tiny_config(a, settings));
  train(tiny_config(b, settings));
  const auto la = logged_losses(a.path("run/metrics.jsonl")), lb = logged_losses(b.path("run/metrics.jsonl"));
  ASSERT_EQ(la.size(), 6u);
  EXPECT_EQ(la, lb);
}

// A toy translation task with disjoint source and target words, so each side
// gets its own vocabulary (vocab.joint: false).
TEST(Training, SeparateVocabulariesPerSide) {
  static const std::map<std::string, std::string> lexicon = {
      {"red", "rot"}, {"blue", "blau"}, {"green", "gruen"}, {"cat", "katze"}, {"dog", "hund"},
      {"bird", "vogel"}, {"runs", "rennt"}, {"sits", "sitzt"}, {"big", "gross"}, {"small", "klein"}};
  auto translate_words = [&](const std::vector<std::string>& lines) {
    std::vector<std::string> out;
    for (const std::string& line : lines) {
      std::istringstream words(line);
      std::string word, translated;
      while (words >> word) translated += (translated.empty() ? "" : " ") + lexicon.at(word);
      out.push_back(translated);
    }
    return out;
  };
  TempDir dir;
  Config config = tiny_config(dir, {"train.max_steps=300", "train.valid_every=300", "vocab.joint=false",
                                    "model.tie_embeddings=decoder"});
  dir.write_lines("train.tgt", translate_words(copy_lines(600, 1)));
  dir.write_lines("valid.tgt", translate_words(copy_lines(40, 2)));
  const TrainResult result = train(config);
  EXPECT_TRUE(std::filesystem::exists(dir.path("run/tiny.src.model")));
  EXPECT_TRUE(std::filesystem::exists(dir.path("run/tiny.tgt.model")));
  EXPECT_FALSE(std::filesystem::exists(dir.path("run/tiny.model")));
  EXPECT_GT(result.best_bleu, 80.0);
  const LoadedModel loaded = load_model(result.best_checkpoint);
  ASSERT_FALSE(loaded.vocabularies.joint());
  // Each side's vocabulary knows only its own words: "katze" is one piece in
  // the target vocabulary and spelt out in the source's.
  EXPECT_LT(loaded.vocabularies.target->encode("katze").size(), loaded.vocabularies.source->encode("katze").size());
  const Translator translator(*loaded.model, loaded.vocabularies, {.beam_size = 2}, 16, 32);
  const auto test = copy_lines(30, 3);
  EXPECT_GT(corpus_bleu(translator.translate_best(test), {translate_words(test)}).score, 80.0);
  // Tying all embeddings needs one vocabulary.
  EXPECT_THROW(tiny_config(dir, {"vocab.joint=false", "model.tie_embeddings=all"}), Error);
}

TEST(Training, StopRequestSavesACheckpointAndReturns) {
  TempDir dir;
  clear_stop_request();
  std::thread stopper([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    request_stop();
  });
  const TrainResult result = train(tiny_config(dir, {"train.max_steps=1000000", "train.valid_every=0"}));
  stopper.join();
  clear_stop_request();
  EXPECT_EQ(result.stop_reason, "signal");
  EXPECT_LT(result.steps, 1000000);
  ASSERT_FALSE(result.last_checkpoint.empty());
  EXPECT_EQ(load_checkpoint(result.last_checkpoint).text("state/step"), std::to_string(result.steps));
}

TEST(Training, NonFiniteGradientsSkipTheUpdate) {
  TempDir dir;
  bool poisoned = false;
  TrainHooks hooks;
  hooks.after_backward = [&](int64_t step, const nn::NamedParameters& parameters) {
    if (step != 5 || poisoned) return;  // once: the skipped update is tried again with the next batch
    poisoned = true;
    float* g = const_cast<float*>(parameters.front().second.grad().data());
    g[0] = std::numeric_limits<float>::quiet_NaN();
  };
  const TrainResult result = train(tiny_config(dir, {"train.max_steps=8", "train.valid_every=0"}), hooks);
  EXPECT_TRUE(poisoned);
  EXPECT_EQ(result.steps, 8);  // the poisoned batch was skipped, not counted
  EXPECT_TRUE(std::isfinite(result.last_loss));
  TempDir always;
  TrainHooks poison;
  poison.after_backward = [](int64_t, const nn::NamedParameters& parameters) {
    const_cast<float*>(parameters.front().second.grad().data())[0] = std::numeric_limits<float>::infinity();
  };
  try {
    train(tiny_config(always, {"train.max_steps=8", "train.max_nonfinite=3", "train.valid_every=0"}), poison);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("3 non-finite updates in a row"), std::string::npos) << e.what();
  }
}

int count_lines_with(const std::string& path, const std::string& needle) {
  std::ifstream in(path);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
  return n;
}

// A skipped update leaves the step where it was: it must not validate or save that step again.
TEST(Training, SkippedUpdateNeitherValidatesNorSavesAgain) {
  TempDir dir;
  TrainHooks hooks;
  std::set<int64_t> poisoned;
  hooks.after_backward = [&](int64_t step, const nn::NamedParameters& parameters) {
    // Poison the first try of step 1 (step 0 is a multiple of everything) and of step 5 (right after the
    // validation at step 4).
    if ((step != 1 && step != 5) || !poisoned.insert(step).second) return;
    const_cast<float*>(parameters.front().second.grad().data())[0] = std::numeric_limits<float>::quiet_NaN();
  };
  const TrainResult result =
      train(tiny_config(dir, {"train.max_steps=8", "train.valid_every=4", "train.save_every=4", "train.early_stopping=2"}),
            hooks);
  EXPECT_EQ(poisoned.size(), 2u);
  EXPECT_EQ(result.steps, 8);
  EXPECT_EQ(count_lines_with(dir.path("run/metrics.jsonl"), "\"type\":\"valid\""), 2);  // steps 4 and 8
  EXPECT_FALSE(std::filesystem::exists(dir.path("run/checkpoints/step-00000000.ckpt")));
  EXPECT_EQ(result.stop_reason, "max_steps");
}

// Training a finished run again says so and changes nothing.
TEST(Training, ResumingAFinishedRunTrainsNothing) {
  TempDir dir;
  const Config config = tiny_config(dir, {"train.max_steps=3", "train.valid_every=0"});
  const TrainResult first = train(config);
  const auto written = std::filesystem::last_write_time(first.last_checkpoint);
  const TrainResult again = train(config);
  EXPECT_EQ(again.steps, 3);
  EXPECT_EQ(again.stop_reason, "max_steps");
  EXPECT_EQ(again.last_checkpoint, first.last_checkpoint);
  EXPECT_EQ(std::filesystem::last_write_time(again.last_checkpoint), written);
}

// The gradient norm sets the clip factor: it must not depend on how the work is split between threads.
TEST(GradNorm, SameBitsForAnyThreadCountAndAgreesWithDouble) {
  nn::NamedParameters parameters;
  double expected = 0;
  for (int k = 0; k < 3; ++k) {
    Var p(Tensor::full({1000 + 77777 * k}, 0.0f), true, concat("p", k));
    Tensor g = Tensor::empty(p.shape());
    Rng rng(10 + k);
    for (int64_t i = 0; i < g.numel(); ++i) {
      g.data()[i] = rng.uniform() - 0.5f;
      expected += static_cast<double>(g.data()[i]) * g.data()[i];
    }
    p.set_grad(g);
    parameters.emplace_back(p.name(), p);
  }
  const int before = num_threads();
  std::vector<double> norms;
  for (const int threads : {1, 3, 4}) {
    set_num_threads(threads);
    norms.push_back(global_grad_norm(parameters));
  }
  set_num_threads(before);
  EXPECT_NEAR(norms[0], std::sqrt(expected), 1e-9 * std::sqrt(expected));
  for (const double n : norms) EXPECT_EQ(n, norms[0]);  // bit for bit
}

TEST(Training, AveragingTwoCheckpointsGivesTheMeanOfTheirParameters) {
  TempDir dir;
  train(tiny_config(dir, {"train.max_steps=4", "train.save_every=2", "train.valid_every=0"}));
  const std::string a = dir.path("run/checkpoints/step-00000002.ckpt"), b = dir.path("run/checkpoints/step-00000004.ckpt");
  average_checkpoints({a, b}, dir.path("avg.ckpt"));
  const Checkpoint ca = load_checkpoint(a), cb = load_checkpoint(b), avg = load_checkpoint(dir.path("avg.ckpt"));
  int checked = 0;
  for (const auto& [name, t] : avg.tensors) {
    const auto va = ca.find_tensor(name)->to_vector(), vb = cb.find_tensor(name)->to_vector(), v = t.to_vector();
    for (size_t i = 0; i < v.size(); ++i) ASSERT_FLOAT_EQ(v[i], (va[i] + vb[i]) / 2) << name;
    ++checked;
  }
  EXPECT_GT(checked, 10);
  EXPECT_NO_THROW(load_model(dir.path("avg.ckpt")));  // self-contained
}

TEST(Training, BadDataStopsWithAClearError) {
  TempDir dir;
  Config config = tiny_config(dir, {"train.max_steps=2"});
  dir.write_lines("train.tgt", {"only one line"});
  try {
    train(config);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line counts differ"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rosetta
