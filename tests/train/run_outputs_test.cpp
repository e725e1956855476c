// What a run leaves besides checkpoints: final.ckpt (the mean of the last
// checkpoints, validated) and a progress picture at every end, with the
// points of earlier invocations after a resume.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "rosetta/model/checkpoint.h"
#include "rosetta/train/optimizer.h"
#include "rosetta/train/progress_plot.h"
#include "rosetta/train/stop_signal.h"
#include "rosetta/train/trainer.h"
#include "testing/tiny_run.h"

namespace rosetta {
namespace {

using testing::TempDir;
using testing::tiny_config;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// "loss" and "lr" of each training line, as written.
std::vector<std::string> loss_and_rate(const std::string& metrics) {
  std::vector<std::string> out;
  std::istringstream in(read_file(metrics));
  for (std::string line; std::getline(in, line);) {
    if (line.find("\"type\":\"train\"") == std::string::npos) continue;
    const auto field = [&](const std::string& key) {
      const auto at = line.find("\"" + key + "\":") + key.size() + 3;
      return line.substr(at, line.find(',', at) - at);
    };
    out.push_back(field("step") + " " + field("loss") + " " + field("lr"));
  }
  return out;
}

TEST(RunOutputs, FinalCheckpointIsTheMeanOfTheLastOnesAndIsValidated) {
  TempDir dir;
  const TrainResult r = train(tiny_config(
      dir, {"train.max_steps=6", "train.save_every=2", "train.valid_every=0", "train.keep_last=3", "train.average_last=2"}));
  ASSERT_EQ(r.final_checkpoint, dir.path("run/final.ckpt"));
  EXPECT_GE(r.final_bleu, 0.0);
  const Checkpoint a = load_checkpoint(dir.path("run/checkpoints/step-00000004.ckpt"));
  const Checkpoint b = load_checkpoint(dir.path("run/checkpoints/step-00000006.ckpt"));
  const Checkpoint f = load_checkpoint(r.final_checkpoint);
  int checked = 0;
  for (const auto& [name, t] : f.tensors) {
    const auto va = a.find_tensor(name)->to_vector(), vb = b.find_tensor(name)->to_vector(), v = t.to_vector();
    for (size_t i = 0; i < v.size(); ++i) ASSERT_FLOAT_EQ(v[i], (va[i] + vb[i]) / 2) << name;
    ++checked;
  }
  EXPECT_GT(checked, 5);
  EXPECT_EQ(count(read_file(dir.path("run/metrics.jsonl")), "\"type\":\"final\""), 1);
  EXPECT_EQ(r.model_checkpoint, r.final_checkpoint);  // validated, and no best.ckpt to compare with
}

TEST(RunOutputs, TheModelToUseIsTheBetterOfBestAndFinalOnValidation) {
  TempDir dir;
  const std::vector<std::string> settings = {"train.max_steps=6", "train.save_every=2", "train.valid_every=2",
                                             "train.keep_last=3", "train.average_last=3"};
  const TrainResult r = train(tiny_config(dir, settings));
  ASSERT_FALSE(r.best_checkpoint.empty());
  ASSERT_GE(r.final_bleu, 0.0);
  EXPECT_EQ(r.model_checkpoint, r.final_bleu >= r.best_bleu ? r.final_checkpoint : r.best_checkpoint);
  // Run again with nothing to train: final.ckpt is kept, and its score read back from metrics.jsonl.
  const TrainResult again = train(tiny_config(dir, settings));
  EXPECT_EQ(again.final_bleu, r.final_bleu);
  EXPECT_EQ(again.model_checkpoint, r.model_checkpoint);
}

TEST(RunOutputs, EveryRunEndsWithAPictureThatKeepsEarlierPointsAfterAResume) {
  TempDir dir;
  train(tiny_config(dir, {"train.max_steps=4", "train.log_every=1", "train.valid_every=0"}));
  const std::string first = read_file(dir.path("run/progress.svg"));
  EXPECT_NE(first.find("4 updates"), std::string::npos);
  EXPECT_EQ(count(first, "<circle"), 8);  // 4 losses and 4 learning rates, no validation
  train(tiny_config(dir, {"train.max_steps=6", "train.log_every=1", "train.valid_every=3"}));
  const std::string second = read_file(dir.path("run/progress.svg"));
  EXPECT_NE(second.find("6 updates"), std::string::npos);
  // 6 losses and learning rates (4 of them from before the resume), validation loss and BLEU at step 6.
  EXPECT_EQ(count(second, "<circle"), 6 + 6 + 1 + 1);
}

// A linear schedule that ends with train.max_time: counted at the end of
// warm-up from the pace so far, recounted halfway through what is left, kept
// in checkpoints. The clock is the test's: warm-up takes 2 s an update, the
// rest 1 s, so the counts are known. Budget 65 s, of which 0.97 x what is
// left - 0.65 s are planned: at update 5 (10 s) zero at 5 + floor(52.7 / 2)
// = 31; recounts while half of what is left is at least 26 / 8 = 3 updates:
// at 18 (23 s, 1 s an update since 5) 18 + floor(40.09) = 58; at 38: 58; at
// 48: 58; at 53: 59; at 56: 59. Counted once, the run would have stopped at
// 31, 36 s into 65.
TEST(RunOutputs, TimeBudgetScheduleIsRecountedAndResumesBitForBit) {
  const std::vector<std::string> settings = {"train.schedule=linear", "train.warmup_steps=5", "train.max_time=65", "train.max_steps=0",
                                             "train.log_every=1", "train.valid_every=0", "train.save_every=1000"};
  TrainHooks clock;
  clock.elapsed = [](int64_t step) { return step <= 5 ? 2.0 * step : 10.0 + static_cast<double>(step - 5); };
  TempDir straight, resumed;
  const TrainResult a = train(tiny_config(straight, settings), clock);
  EXPECT_EQ(a.steps, 59);
  EXPECT_EQ(a.stop_reason, "planned_updates");
  // Interrupted before the first recount (update 12) and after the second (40), then resumed each time.
  for (const auto& [stop_at, end] : {std::pair<int64_t, const char*>{12, "31"}, {40, "58"}}) {
    TrainHooks interrupt = clock;
    interrupt.after_backward = [stop_at](int64_t step, const nn::NamedParameters&) {
      if (step == stop_at) request_stop();
    };
    clear_stop_request();
    const TrainResult part = train(tiny_config(resumed, settings), interrupt);
    clear_stop_request();
    EXPECT_EQ(part.steps, stop_at);
    EXPECT_EQ(load_checkpoint(part.last_checkpoint).text("state/planned_updates"), end);
  }
  const TrainResult b = train(tiny_config(resumed, settings), clock);
  EXPECT_EQ(b.steps, 59);
  const auto sa = loss_and_rate(straight.path("run/metrics.jsonl")), sb = loss_and_rate(resumed.path("run/metrics.jsonl"));
  ASSERT_EQ(sa.size(), 59u);
  EXPECT_EQ(sa, sb);  // bit for bit, as printed in shortest exact form
  // The rate falls without a jump: half the peak at 18 (13 of 26 updates to 31),
  // a quarter at 38 (20 of 40 to 58), an eighth at 48, then down to zero at 59.
  const float peak = tiny_config(straight, settings).train.lr;
  const auto rate = [&](size_t step) { return std::stod(sa[step - 1].substr(sa[step - 1].rfind(' ') + 1)); };
  EXPECT_NEAR(rate(5), peak, 1e-9);
  EXPECT_NEAR(rate(18), peak / 2, 1e-9);
  EXPECT_NEAR(rate(38), peak / 4, 1e-9);
  EXPECT_NEAR(rate(48), peak / 8, 1e-9);
  EXPECT_GT(rate(58), 0.0);
  EXPECT_EQ(rate(59), 0.0);
  for (size_t step = 6; step <= 59; ++step) EXPECT_LE(rate(step), rate(step - 1)) << step;
  // Counted once (train.recount_schedule=false), the same clock stops the run at 31.
  TempDir once;
  std::vector<std::string> counted_once = settings;
  counted_once.push_back("train.recount_schedule=false");
  const TrainResult c = train(tiny_config(once, counted_once), clock);
  EXPECT_EQ(c.steps, 31);
  EXPECT_EQ(c.stop_reason, "planned_updates");
}

TEST(ProgressPlot, ASinglePointStillShowsAndTextIsEscaped) {
  ProgressData d;
  d.title = "run <a&b>";
  d.valid_score = {{100, 12.5}};
  const std::string svg = progress_svg(d);
  EXPECT_EQ(count(svg, "<circle"), 1);
  EXPECT_NE(svg.find("run &lt;a&amp;b&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("<a&b>"), std::string::npos);
}

TEST(ProgressPlot, AxesHaveRoundTicksAndFinalCheckpointIsAPointApart) {
  ProgressData d;
  d.train_loss = {{100, 7.9}, {4196, 2.34}};
  d.valid_score = {{1000, 25.1}, {4196, 38.7}};
  d.final_score = {{4196, 39.2}};
  const std::string svg = progress_svg(d);
  for (const char* tick : {">0</text>", ">1000</text>", ">2000</text>", ">3000</text>", ">4000</text>"})
    EXPECT_NE(svg.find(tick), std::string::npos) << tick;
  EXPECT_EQ(svg.find(">1049</text>"), std::string::npos);  // not the step range cut in quarters
  EXPECT_EQ(count(svg, "fill=\"white\" stroke="), 1);      // final.ckpt: one ringed marker
  EXPECT_NE(svg.find("final.ckpt 39.2"), std::string::npos);
  EXPECT_EQ(count(svg, "<polyline"), 2);  // train loss and validation BLEU; no line through the lone point
}

}  // namespace
}  // namespace rosetta
