// translate, bleu, average and a signalled train, run as a user runs them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "rosetta/config/config.h"
#include "rosetta/decode/model_loader.h"
#include "rosetta/decode/translator.h"
#include "rosetta/model/checkpoint.h"
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
                                       "train.run_dir=" + dir_->path("run"), "train.max_steps=30", "train.save_every=10",
                                       "train.valid_every=0"});
    checkpoint_ = train(config).last_checkpoint;
  }
  static void TearDownTestSuite() { delete dir_; }
  static inline TempDir* dir_ = nullptr;
  static inline std::string checkpoint_;
};

// The command sorts lines by length into batches of 2; each output line must
// be the translation of its own input line, which the library gives here
// for each line alone (a batch of one), both in fp32.
TEST_F(Commands, TranslateKeepsLinesInOrderAndEmptyLinesEmpty) {
  const std::vector<std::string> lines = {"the dog runs", "", "a big red house in the park", "tree",
                                          "the small child plays with a ball in the park", "a man", "",
                                          "the cat sees a bird"};
  const std::string input = dir_->write_lines("in.txt", lines);
  const auto r = run_command(rosetta_binary() + " translate --model " + checkpoint_ + " --input " + input + " --output " +
                             dir_->path("out.txt") + " --beam-size 3 --batch-size 2 --precision fp32");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto out = lines_of(dir_->path("out.txt"));
  ASSERT_EQ(out.size(), lines.size());
  const LoadedModel loaded = load_model(checkpoint_);
  const DecodeConfig& d = loaded.config.decode;
  const Translator alone(*loaded.model, loaded.vocabularies,
                         {.beam_size = 3, .length_penalty = d.length_penalty, .max_length_a = d.max_length_a,
                          .max_length_b = d.max_length_b},
                         1, loaded.config.data.max_len);
  std::set<std::string> distinct;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string expected = lines[i].empty() ? "" : alone.translate_best({lines[i]}).front();
    EXPECT_EQ(out[i], expected) << "line " << i + 1 << ": " << lines[i];
    if (!lines[i].empty()) distinct.insert(expected);
  }
  // Only different translations can show lines out of order.
  EXPECT_GE(distinct.size(), 4u);
  // Standard input to standard output gives the same translations.
  const auto piped =
      run_command("cat " + input + " | " + rosetta_binary() + " translate -m " + checkpoint_ + " -b 3 --precision fp32", true);
  std::string expected_output;
  for (const auto& line : out) expected_output += line + "\n";
  EXPECT_EQ(piped.output, expected_output);
  // Without --precision: auto, which the log names (bf16 only where the CPU has native bf16 dot products).
  const auto by_default = run_command("cat " + input + " | " + rosetta_binary() + " translate -m " + checkpoint_ + " -b 3");
  ASSERT_EQ(by_default.exit_code, 0) << by_default.output;
  EXPECT_NE(by_default.output.find("precision: auto: "), std::string::npos) << by_default.output;
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

// The run saved steps 10, 20 and 30; --last 2 must average 20 and 30, each
// parameter the mean of theirs, loaded here from the files.
TEST_F(Commands, AverageTheLastCheckpointsOfARun) {
  const auto r = run_command(rosetta_binary() + " average --out " + dir_->path("avg.ckpt") + " --last 2 --run-dir " +
                             dir_->path("run"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(run_command(rosetta_binary() + " info " + dir_->path("avg.ckpt")).exit_code, 0);
  std::vector<std::string> saved;
  for (const auto& entry : std::filesystem::directory_iterator(dir_->path("run/checkpoints")))
    saved.push_back(entry.path().filename().string());
  std::sort(saved.begin(), saved.end());
  ASSERT_EQ(saved, (std::vector<std::string>{"step-00000010.ckpt", "step-00000020.ckpt", "step-00000030.ckpt"}));
  const Checkpoint a = load_checkpoint(dir_->path("run/checkpoints/step-00000020.ckpt"));
  const Checkpoint b = load_checkpoint(dir_->path("run/checkpoints/step-00000030.ckpt"));
  const Checkpoint avg = load_checkpoint(dir_->path("avg.ckpt"));
  size_t parameters = 0, moved = 0;
  for (const auto& [name, tensor] : a.tensors) {
    if (!name.starts_with("param/")) continue;
    ++parameters;
    const Tensor* mean = avg.find_tensor(name);
    ASSERT_NE(mean, nullptr) << name;
    const auto va = tensor.to_vector(), vb = b.find_tensor(name)->to_vector(), v = mean->to_vector();
    ASSERT_EQ(v.size(), va.size()) << name;
    for (size_t i = 0; i < v.size(); ++i) {
      ASSERT_FLOAT_EQ(v[i], static_cast<float>((static_cast<double>(va[i]) + vb[i]) / 2)) << name << "[" << i << "]";
      moved += va[i] != vb[i];
    }
  }
  EXPECT_GT(parameters, 10u);
  EXPECT_GT(moved, 1000u);  // steps 20 and 30 differ, so the mean is neither
  size_t averaged = 0;
  for (const auto& [name, tensor] : avg.tensors) averaged += name.starts_with("param/");
  EXPECT_EQ(averaged, parameters);
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
