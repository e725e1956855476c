// Corpus BLEU, sentence BLEU and chrF exactly as sacreBLEU 2.6.0 computes
// them: its 13a, intl, char and none tokenizers, "exp" smoothing, the
// brevity penalty, the closest reference length with several references,
// and chrF2 (character order 6, word order 0, whitespace dropped).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace rosetta {

enum class BleuTokenizer { t13a, intl, none, character };

struct BleuOptions {
  BleuTokenizer tokenize = BleuTokenizer::t13a;
  bool lowercase = false;
};

struct BleuResult {
  double score = 0;
  std::array<int64_t, 4> counts{}, totals{};
  std::array<double, 4> precisions{};
  double bp = 0;
  int64_t sys_len = 0, ref_len = 0;
  std::string signature;  // "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"
  // "BLEU|<signature> = 13.9 45.0/37.7/10.9/2.6 (BP = 0.832 ratio = 0.845 hyp_len = 60 ref_len = 71)"
  std::string format() const;
};

struct ChrfResult {
  double score = 0;
  std::string signature;  // "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"
  std::string format() const;
};

BleuTokenizer parse_bleu_tokenizer(const std::string& name);  // 13a | intl | none | char
std::string bleu_tokenize(const std::string& line, BleuTokenizer tokenizer);

// references[r][i] is reference r of segment i; every stream has one line per hypothesis.
BleuResult corpus_bleu(const std::vector<std::string>& hypotheses,
                       const std::vector<std::vector<std::string>>& references, const BleuOptions& options = {});
// Effective order on, as sacreBLEU's sentence_bleu.
BleuResult sentence_bleu(const std::string& hypothesis, const std::vector<std::string>& references,
                         const BleuOptions& options = {});
ChrfResult corpus_chrf(const std::vector<std::string>& hypotheses,
                       const std::vector<std::vector<std::string>>& references, bool lowercase = false);

}  // namespace rosetta
