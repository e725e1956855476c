// Hand-made edge cases for the scorer, with values worked out by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "rosetta/error.h"
#include "rosetta/eval/bleu.h"

namespace rosetta {
namespace {

TEST(BleuTokenizers, ThirteenA) {
  EXPECT_EQ(bleu_tokenize("Hello, world!", BleuTokenizer::t13a), "Hello , world !");
  EXPECT_EQ(bleu_tokenize("3.5 and 3,000.", BleuTokenizer::t13a), "3.5 and 3,000 .");
  EXPECT_EQ(bleu_tokenize("a &amp; b &lt;c&gt;", BleuTokenizer::t13a), "a & b < c >");
  EXPECT_EQ(bleu_tokenize("1990-2000", BleuTokenizer::t13a), "1990 - 2000");
  EXPECT_EQ(bleu_tokenize("  spaced\tout  ", BleuTokenizer::t13a), "spaced out");
}

TEST(BleuTokenizers, InternationalAndChar) {
  EXPECT_EQ(bleu_tokenize("Grüße, 世界!", BleuTokenizer::intl), "Grüße , 世界 !");
  EXPECT_EQ(bleu_tokenize("3.5 €", BleuTokenizer::intl), "3.5 €");
  EXPECT_EQ(bleu_tokenize("a+b", BleuTokenizer::intl), "a + b");
  EXPECT_EQ(bleu_tokenize("ab c", BleuTokenizer::character), "a b   c");
  EXPECT_EQ(bleu_tokenize("as is, kept", BleuTokenizer::none), "as is, kept");
}

TEST(Bleu, IdenticalTextScoresOneHundred) {
  const std::vector<std::string> text = {"a man rides a horse on the beach .", "two dogs play in the snow ."};
  const BleuResult r = corpus_bleu(text, {text});
  EXPECT_DOUBLE_EQ(r.score, 100.0);
  EXPECT_EQ(r.counts[0], 16);
  EXPECT_DOUBLE_EQ(r.bp, 1.0);
  EXPECT_DOUBLE_EQ(corpus_chrf(text, {text}).score, 100.0);
}

TEST(Bleu, EmptyHypothesesScoreZero) {
  const BleuResult r = corpus_bleu({"", ""}, {{"a cat", "a dog"}});
  EXPECT_EQ(r.score, 0.0);
  EXPECT_EQ(r.sys_len, 0);
  EXPECT_EQ(r.ref_len, 4);
  EXPECT_EQ(r.bp, 0.0);
  EXPECT_EQ(corpus_chrf({"", ""}, {{"a cat", "a dog"}}).score, 0.0);
}

TEST(Bleu, PunctuationOnlyLine) {
  // "?!" tokenizes to "? !": two unigrams, one bigram; both match.
  const BleuResult r = corpus_bleu({"?!"}, {{"? !"}});
  EXPECT_EQ(r.counts[0], 2);
  EXPECT_EQ(r.counts[1], 1);
  EXPECT_EQ(r.totals[2], 0);
  // Orders 3 and 4 have no n-grams: sacreBLEU stops there, precisions stay 0 -> log floor.
  EXPECT_LT(r.score, 1e-6);
  // With effective order, the sentence score is the geometric mean of the two: 100.
  EXPECT_NEAR(sentence_bleu("?!", {"? !"}).score, 100.0, 1e-9);
}

TEST(Bleu, NonLatinScriptsWithCharTokenization) {
  const BleuOptions chars{BleuTokenizer::character, false};
  EXPECT_NEAR(sentence_bleu("我爱你们", {"我爱你们"}, chars).score, 100.0, 1e-9);
  // Brevity: 3 of 4 characters, all n-grams matching: BP = exp(1 - 4/3).
  const BleuResult r = sentence_bleu("我爱你", {"我爱你们"}, chars);
  EXPECT_NEAR(r.bp, std::exp(1.0 - 4.0 / 3.0), 1e-12);
  EXPECT_NEAR(r.score, 100.0 * std::exp(1.0 - 4.0 / 3.0), 1e-9);
}

TEST(Bleu, ClosestReferenceLengthPrefersTheShorterOnATie) {
  // Hypothesis of 3 tokens; references of 2 and 4 tokens are equally close: 2 is used.
  const BleuResult r = corpus_bleu({"a b c"}, {{"a b"}, {"a b c d"}});
  EXPECT_EQ(r.ref_len, 2);
}

TEST(Bleu, LineCountMismatchIsAnError) {
  EXPECT_THROW(corpus_bleu({"a", "b"}, {{"a"}}), Error);
  EXPECT_THROW(corpus_chrf({"a"}, {{"a", "b"}}), Error);
  EXPECT_THROW(parse_bleu_tokenizer("moses"), Error);
}

TEST(Bleu, FormatsLikeSacreBleu) {
  const BleuResult r = corpus_bleu({"a b c d e"}, {{"a b c d e"}});
  EXPECT_EQ(r.format(),
            "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 100.0 100.0/100.0/100.0/100.0 "
            "(BP = 1.000 ratio = 1.000 hyp_len = 5 ref_len = 5)");
}

}  // namespace
}  // namespace rosetta
