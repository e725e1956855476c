// AER, precision and recall on cases worked out by hand.
#include "rosetta/eval/alignment_error.h"

#include <gtest/gtest.h>

#include "rosetta/error.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"

namespace rosetta {
namespace {

TEST(AlignmentError, OneSentenceBySureAndPossibleLinks) {
  // S = {0-0}, P = {0-0, 1-1, 2-2}; A = {0-0, 1-1, 2-1}: |A&S| = 1, |A&P| = 2, |A| = 3, |S| = 1.
  const AlignmentScores s = alignment_error({"0-0 1?1 2p2"}, {"0-0 1-1 2-1"});
  EXPECT_DOUBLE_EQ(s.aer, 1.0 - 3.0 / 4.0);
  EXPECT_DOUBLE_EQ(s.precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.recall, 1.0);
  EXPECT_EQ(s.sure_links, 1);
  EXPECT_EQ(s.possible_links, 3);
}

TEST(AlignmentError, CorpusSumsOverSentences) {
  // Adds a sentence with S = P = {0-1} and no hypothesis links (a translate line):
  // |A&S| = 1, |A&P| = 2, |A| = 3, |S| = 2.
  const AlignmentScores s = alignment_error({"0-0 1?1 2p2", "0-1"}, {"0-0 1-1 2-1", "ein Hund ||| "});
  EXPECT_DOUBLE_EQ(s.aer, 1.0 - 3.0 / 5.0);
  EXPECT_DOUBLE_EQ(s.precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.recall, 0.5);
  EXPECT_EQ(s.sentences, 2);
  // Perfect: every sure link and nothing outside P.
  EXPECT_DOUBLE_EQ(alignment_error({"0-0 1?1"}, {"0-0"}).aer, 0.0);
}

TEST(AlignmentError, BadLinksNameFileAndLine) {
  try {
    alignment_error({"0-0", "1-x"}, {"0-0", "1-1"}, "gold.txt", "hyp.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gold.txt line 2: '1-x' is not a link"), std::string::npos) << e.what();
  }
  EXPECT_THROW(alignment_error({"0-0"}, {"0?0"}), Error);  // hypotheses have no possible links
  EXPECT_THROW(alignment_error({"0-0"}, {"0-0", "1-1"}), Error);
}

TEST(AlignmentError, CommandPrintsScores) {
  testing::TempDir dir;
  const std::string gold = dir.write_lines("gold", {"0-0 1?1 2p2", "0-1"});
  const std::string hyp = dir.write_lines("hyp", {"0-0 1-1 2-1", ""});
  const auto r = testing::run_command(testing::rosetta_binary() + " align-eval --ref " + gold + " --hyp " + hyp, true);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "AER 40.00 precision 66.67 recall 50.00 (2 sentences, 3 links; gold: 2 sure, 4 possible)\n");
}

}  // namespace
}  // namespace rosetta
