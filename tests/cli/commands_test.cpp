// translate, bleu, average and a signalled train, run as a user runs them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "rosetta/config/config.h"
#include "rosetta/train/trainer.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"

namespace rosetta {
namespace {

using testing::rosetta_binary;
using testing::run_command;
using testing::TempDir;

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// A small model trained once for the suite, on the toy corpus.
class Commands : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const auto toy = testing::toy_corpus(300, 4);
    dir_->write_lines("train.src", toy.src);
    dir_->write_lines("train.tgt", toy.tgt);
    const Config config = load_config(ROSETTA_SOURCE_DIR "/configs/tiny.yaml",
                                      {"data.train.src=" + dir_->path("train.src"), "data.train.tgt=" + dir_->path("train.tgt"),
                                       "train.run_dir=" + dir_->path("run"), "train.max_steps=30", "train.save_every=15",
                                       "train.valid_every=0"});
    checkpoint_ = train(config).last_checkpoint;
  }
  static void TearDownTestSuite() { delete dir_; }
  static inline TempDir* dir_ = nullptr;
  static inline std::string checkpoint_;
};

TEST_F(Commands, TranslateKeepsLinesInOrderAndEmptyLinesEmpty) {
  const std::string input = dir_->write_lines("in.txt", {"the dog runs", "", "a big red house in the park", "tree"});
  const auto r = run_command(rosetta_binary() + " translate --model " + checkpoint_ + " --input " + input + " --output " +
                             dir_->path("out.txt") + " --beam-size 3 --batch-size 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto out = lines_of(dir_->path("out.txt"));
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[1], "");
  // Standard input to standard output gives the same translations.
  const auto piped = run_command("cat " + input + " | " + rosetta_binary() + " translate -m " + checkpoint_ + " -b 3", true);
  EXPECT_EQ(piped.output, "" + out[0] + "\n\n" + out[2] + "\n" + out[3] + "\n");
}

TEST_F(Commands, NBestListsScoredHypotheses) {
  const std::string input = dir_->write_lines("nbest.txt", {"the cat sees a bird"});
  const auto r = run_command(rosetta_binary() + " translate -m " + checkpoint_ + " -i " + input + " -b 4 --n-best 3", true);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream lines(r.output);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    EXPECT_EQ(line.rfind("0 ||| ", 0), 0u) << line;
    EXPECT_NE(line.find(" ||| ", 6), std::string::npos) << line;
    ++count;
  }
  EXPECT_EQ(count, 3);
}

TEST_F(Commands, TranslateRejectsBadModelsAndOptions) {
  auto r = run_command(rosetta_binary() + " translate -m " + dir_->path("train.src") + " -i " + dir_->path("train.src"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("is not a Rosetta checkpoint"), std::string::npos) << r.output;
  r = run_command(rosetta_binary() + " translate -m " + checkpoint_ + " -b 2 --n-best 3 -i " + dir_->path("train.src"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--n-best"), std::string::npos) << r.output;
}

TEST_F(Commands, BleuPrintsSacreBleuLinesAndJson) {
  const std::string ref = dir_->write_lines("ref.txt", {"the cat sat on the mat .", "a dog ."});
  const std::string hyp = dir_->write_lines("hyp.txt", {"the cat sat on a mat .", "a dog ."});
  auto r = run_command(rosetta_binary() + " bleu --ref " + ref + " --hyp " + hyp + " --metrics bleu,chrf");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.rfind("BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = ", 0), 0u) << r.output;
  EXPECT_NE(r.output.find("chrF2|nrefs:1|"), std::string::npos);
  r = run_command(rosetta_binary() + " bleu -r " + ref + " -i " + hyp + " --json");
  EXPECT_NE(r.output.find("\"counts\":[9,6,3,1]"), std::string::npos) << r.output;
  r = run_command(rosetta_binary() + " bleu -r " + ref + " -i " + hyp + " --sentence");
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 2);
  const std::string short_hyp = dir_->write_lines("short.txt", {"one line"});
  r = run_command(rosetta_binary() + " bleu -r " + ref + " -i " + short_hyp);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("line counts differ"), std::string::npos) << r.output;
}

TEST_F(Commands, AverageTheLastCheckpointsOfARun) {
  const auto r = run_command(rosetta_binary() + " average --out " + dir_->path("avg.ckpt") + " --last 2 --run-dir " +
                             dir_->path("run"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(run_command(rosetta_binary() + " info " + dir_->path("avg.ckpt")).exit_code, 0);
}

TEST_F(Commands, SigtermFinishesTheStepSavesAndExitsZero) {
  const std::string run_dir = dir_->path("signalled");
  const auto r = run_command("timeout --preserve-status -s TERM 3 " + rosetta_binary() + " train -c " ROSETTA_SOURCE_DIR
                             "/configs/tiny.yaml --set data.train.src=" + dir_->path("train.src") +
                             " --set data.train.tgt=" + dir_->path("train.tgt") + " --set train.run_dir=" + run_dir +
                             " --set train.max_steps=10000000 --set train.valid_every=0");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"stop_reason\":\"signal\""), std::string::npos) << r.output;
  bool found = false;
  for (const auto& entry : std::filesystem::directory_iterator(run_dir + "/checkpoints")) found |= entry.path().extension() == ".ckpt";
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace rosetta
