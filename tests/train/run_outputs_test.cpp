// What a run leaves besides checkpoints: final.ckpt (the mean of the last
// checkpoints, validated) and a progress picture at every end, with the
// points of earlier invocations after a resume.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "rosetta/model/checkpoint.h"
#include "rosetta/train/progress_plot.h"
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

TEST(ProgressPlot, ASinglePointStillShowsAndTextIsEscaped) {
  ProgressData d;
  d.title = "run <a&b>";
  d.valid_bleu = {{100, 12.5}};
  const std::string svg = progress_svg(d);
  EXPECT_EQ(count(svg, "<circle"), 1);
  EXPECT_NE(svg.find("run &lt;a&amp;b&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("<a&b>"), std::string::npos);
}

}  // namespace
}  // namespace rosetta
