// Alignments: the formats on hand-made attention matrices (values worked out
// by hand below), and from a trained copy model, whose attention should
// follow the diagonal, through the library and the command line.
#include "rosetta/decode/alignment.h"

#include <gtest/gtest.h>

#include <sstream>

#include "rosetta/decode/model_loader.h"
#include "rosetta/decode/translator.h"
#include "rosetta/error.h"
#include "rosetta/train/trainer.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"
#include "testing/tiny_run.h"

namespace rosetta {
namespace {

using testing::run_command;

// Target pieces x source pieces.
const std::vector<std::vector<float>> kWeights = {
    {0.7f, 0.2f, 0.1f},   // t0
    {0.1f, 0.3f, 0.6f},   // t1
    {0.45f, 0.5f, 0.05f}  // t2
};

AlignmentOptions subword(AlignmentOptions o) {
  o.word_level = false;
  return o;
}

TEST(Alignment, HardLinksEachTargetPieceToItsMostAttendedSourcePiece) {
  const std::vector<bool> starts = {true, true, true};
  EXPECT_EQ(format_alignment(kWeights, starts, starts, subword(parse_alignment_kind("hard"))), "0-0 1-2 2-1");
}

TEST(Alignment, ThresholdKeepsEveryLinkAboveIt) {
  const std::vector<bool> starts = {true, true, true};
  // Above 0.25: t0-s0 (0.7), t1-s1 (0.3), t1-s2 (0.6), t2-s0 (0.45), t2-s1 (0.5); sorted by source, then target.
  EXPECT_EQ(format_alignment(kWeights, starts, starts, subword(parse_alignment_kind("0.25"))), "0-0 0-2 1-1 1-2 2-1");
}

TEST(Alignment, WordLevelMergesPieces) {
  // Source words: {s0 s1} {s2}; target words: {t0} {t1 t2}.
  const std::vector<bool> src = {true, false, true}, tgt = {true, true, false};
  // Piece links 0-0, 2-1, 1-2 become word links 0-0, 1-1, 0-1.
  EXPECT_EQ(format_alignment(kWeights, src, tgt, parse_alignment_kind("hard")), "0-0 0-1 1-1");
  // Soft: word 0 = t0 over {s0+s1, s2} = 0.9, 0.1; word 1 = mean of t1 (0.4, 0.6) and t2 (0.95, 0.05).
  EXPECT_EQ(format_alignment(kWeights, src, tgt, parse_alignment_kind("soft")), "0.900,0.100 0.675,0.325");
  EXPECT_EQ(format_alignment(kWeights, src, tgt, subword(parse_alignment_kind("soft"))),
            "0.700,0.200,0.100 0.100,0.300,0.600 0.450,0.500,0.050");
}

TEST(Alignment, BadOptionsAreClearErrors) {
  for (const char* bad : {"1.5", "0", "maybe", "0.5x"}) {
    try {
      parse_alignment_kind(bad);
      FAIL() << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("--alignment"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(parse_alignment_heads("all"), std::vector<int64_t>{});
  EXPECT_EQ(parse_alignment_heads("0,2"), (std::vector<int64_t>{0, 2}));
  EXPECT_THROW(parse_alignment_heads("0,x"), Error);
}

// A copy model: target piece t should attend to source piece t.
class CopyModelAlignment : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    checkpoint_ = train(testing::tiny_config(*dir_, {"train.valid_every=0"})).last_checkpoint;
  }
  static void TearDownTestSuite() { delete dir_; }
  static inline testing::TempDir* dir_ = nullptr;
  static inline std::string checkpoint_;
};

TEST_F(CopyModelAlignment, FollowsTheDiagonalAndLeavesTheTranslationAlone) {
  const LoadedModel loaded = load_model(checkpoint_);
  const SearchOptions search{.beam_size = 3, .n_best = 2};
  const Translator plain(*loaded.model, loaded.vocabularies, search, 8, loaded.config.data.max_len);
  Translator aligning(*loaded.model, loaded.vocabularies, search, 8, loaded.config.data.max_len);
  AlignmentOptions options = parse_alignment_kind("hard");
  aligning.set_alignment(options);
  const std::vector<std::string> lines = testing::copy_lines(40, 9);
  const auto without = plain.translate(lines), with = aligning.translate(lines);
  int links = 0, diagonal = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(with[i].texts, without[i].texts) << lines[i];
    EXPECT_EQ(with[i].scores, without[i].scores) << lines[i];
    ASSERT_EQ(with[i].alignments.size(), with[i].texts.size());
    std::istringstream pairs(with[i].alignments.front());
    const size_t words = std::count(lines[i].begin(), lines[i].end(), ' ') + 1;
    for (std::string pair; pairs >> pair;) {
      const size_t dash = pair.find('-');
      const size_t s = std::stoul(pair.substr(0, dash)), t = std::stoul(pair.substr(dash + 1));
      EXPECT_LT(s, words) << pair;  // never the end-of-sentence token
      ++links;
      diagonal += s == t;
    }
  }
  EXPECT_GE(links, 40 * 2);
  EXPECT_GE(diagonal, links * 8 / 10) << diagonal << " of " << links << " links on the diagonal";
  options.layer = 1;
  EXPECT_THROW(aligning.set_alignment(options), Error);  // tiny.yaml has one decoder layer
}

TEST_F(CopyModelAlignment, TranslateAppendsAlignmentsToLinesAndNBest) {
  const std::string input = dir_->write_lines("in.txt", {"red cat sits", "", "big dog runs small"});
  auto r = run_command(testing::rosetta_binary() + " translate -m " + checkpoint_ + " -i " + input + " --alignment hard",
                       true);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream out(r.output);
  std::vector<std::string> lines;
  for (std::string line; std::getline(out, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "red cat sits ||| 0-0 1-1 2-2");
  EXPECT_EQ(lines[1], " ||| ");
  r = run_command(testing::rosetta_binary() + " translate -m " + checkpoint_ + " -i " + input +
                      " -b 2 --n-best 2 --alignment soft --alignment-level subword",
                  true);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("0 ||| red cat sits ||| "), std::string::npos) << r.output;
  r = run_command(testing::rosetta_binary() + " translate -m " + checkpoint_ + " -i " + input + " --alignment 2");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--alignment: expected hard, soft or a threshold"), std::string::npos) << r.output;
  r = run_command(testing::rosetta_binary() + " translate -m " + checkpoint_ + " -i " + input +
                  " --alignment hard --alignment-heads 5");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("the model has 2 heads"), std::string::npos) << r.output;
}

// Forced alignment of a translation gives what translate --alignment gave for it.
TEST_F(CopyModelAlignment, ForcedAlignmentOfATranslationMatchesTheSearchs) {
  const LoadedModel loaded = load_model(checkpoint_);
  Translator translator(*loaded.model, loaded.vocabularies, {.beam_size = 2}, 8, loaded.config.data.max_len);
  translator.set_alignment(parse_alignment_kind("0.2"));
  const std::vector<std::string> lines = testing::copy_lines(12, 5);
  std::vector<std::string> translations, expected;
  for (const Translation& t : translator.translate(lines)) {
    translations.push_back(t.texts.front());
    expected.push_back(t.alignments.front());
  }
  EXPECT_EQ(translator.align_given(lines, translations), expected);
  EXPECT_EQ(translator.align_given({"red cat", ""}, {"", "red"}), (std::vector<std::string>{"", ""}));
  EXPECT_THROW(translator.align_given({"red"}, {}), Error);

  const std::string src = dir_->write_lines("src.txt", {"red cat sits", "big dog"});
  const std::string tgt = dir_->write_lines("tgt.txt", {"red cat sits", "big dog"});
  const auto r = run_command(testing::rosetta_binary() + " align -m " + checkpoint_ + " --src " + src + " --tgt " + tgt,
                             true);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "0-0 1-1 2-2\n0-0 1-1\n");
}

}  // namespace
}  // namespace rosetta
