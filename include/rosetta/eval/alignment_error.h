// Alignment error rate (Och & Ney 2003) of hypothesis links against gold
// links: sure links S ("i-j") and possible links P ("i?j" or "ipj", the
// forms public gold sets use; every sure link is possible too). Over a
// corpus, with A the hypothesis links:
//   AER = 1 - (|A & S| + |A & P|) / (|A| + |S|)
//   precision = |A & P| / |A|, recall = |A & S| / |S|
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rosetta {

struct AlignmentScores {
  double aer = 0, precision = 0, recall = 0;
  int64_t sentences = 0, hypothesis_links = 0, sure_links = 0, possible_links = 0;
};

// gold and hypothesis: one line a sentence. A hypothesis line may be a
// translate --alignment line ("... ||| links"): the part after the last
// " ||| " is read. gold_name / hypothesis_name name the files in errors,
// with the line and the bad link.
AlignmentScores alignment_error(const std::vector<std::string>& gold, const std::vector<std::string>& hypothesis,
                                const std::string& gold_name = "gold", const std::string& hypothesis_name = "hypothesis");

}  // namespace rosetta
