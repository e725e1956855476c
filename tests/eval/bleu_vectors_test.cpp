// Every case in ../shared/bleu-vectors (scored by sacreBLEU 2.6.0): BLEU and
// chrF to 1e-6, counts, totals and lengths exactly, sentence BLEU of the
// first 20 lines to the 6 places stored. The vectors stay outside the
// project: without them the test skips, unless ROSETTA_REQUIRE_SHARED is set
// (CI sets it), when it fails.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "rosetta/eval/bleu.h"

namespace rosetta {
namespace {

namespace fs = std::filesystem;

fs::path vectors_dir() {
  if (const char* env = std::getenv("ROSETTA_BLEU_VECTORS")) return env;
  return fs::path(ROSETTA_SOURCE_DIR) / ".." / "shared" / "bleu-vectors";
}

std::vector<std::string> read_lines(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::vector<std::string> cases() {
  std::vector<std::string> names;
  if (!fs::exists(vectors_dir())) return names;
  for (const auto& entry : fs::directory_iterator(vectors_dir()))
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(BleuVectors, ArePresent) {
  if (cases().empty()) {
    if (std::getenv("ROSETTA_REQUIRE_SHARED")) FAIL() << "no BLEU vectors at " << vectors_dir();
    GTEST_SKIP() << "no BLEU vectors at " << vectors_dir() << " (a user's checkout)";
  }
  EXPECT_GE(cases().size(), 90u);
}

class BleuVector : public ::testing::TestWithParam<std::string> {};

TEST_P(BleuVector, MatchesSacreBleu) {
  const fs::path dir = vectors_dir() / GetParam();
  // JSON is YAML: yaml-cpp reads the case files.
  const YAML::Node args = YAML::LoadFile((dir / "args.json").string());
  const YAML::Node expected = YAML::LoadFile((dir / "expected.json").string());
  BleuOptions options{parse_bleu_tokenizer(args["tokenize"].as<std::string>()), args["lowercase"].as<bool>()};
  const auto hyps = read_lines(dir / "hyp.txt");
  std::vector<std::vector<std::string>> refs{read_lines(dir / "ref.txt")};
  if (fs::exists(dir / "ref2.txt")) refs.push_back(read_lines(dir / "ref2.txt"));
  ASSERT_EQ(static_cast<int>(refs.size()), args["refs"].as<int>());

  const BleuResult bleu = corpus_bleu(hyps, refs, options);
  EXPECT_NEAR(bleu.score, expected["bleu"].as<double>(), 1e-6);
  for (int n = 0; n < 4; ++n) {
    EXPECT_EQ(bleu.counts[n], expected["counts"][n].as<int64_t>()) << "n = " << n + 1;
    EXPECT_EQ(bleu.totals[n], expected["totals"][n].as<int64_t>()) << "n = " << n + 1;
  }
  EXPECT_NEAR(bleu.bp, expected["bp"].as<double>(), 1e-9);
  EXPECT_EQ(bleu.sys_len, expected["sys_len"].as<int64_t>());
  EXPECT_EQ(bleu.ref_len, expected["ref_len"].as<int64_t>());
  EXPECT_EQ(bleu.signature, expected["signature"].as<std::string>());
  EXPECT_NEAR(corpus_chrf(hyps, refs, options.lowercase).score, expected["chrf"].as<double>(), 1e-6);

  const YAML::Node sentences = expected["sentence_bleu_first20"];
  for (size_t i = 0; i < sentences.size(); ++i) {
    std::vector<std::string> segment_refs;
    for (const auto& stream : refs) segment_refs.push_back(stream[i]);
    const double score = sentence_bleu(hyps[i], segment_refs, options).score;
    EXPECT_NEAR(std::round(score * 1e6) / 1e6, sentences[i].as<double>(), 1.5e-6) << "line " << i + 1;
  }
}

INSTANTIATE_TEST_SUITE_P(SacreBleu, BleuVector, ::testing::ValuesIn(cases()));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BleuVector);

}  // namespace
}  // namespace rosetta
