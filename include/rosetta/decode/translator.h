// Text in, text out: encodes lines with the source vocabulary, sorts them by
// length, decodes them in batches (beam or greedy), detokenizes, and gives
// the translations back in input order. Empty lines give empty lines; input
// longer than the model allows is truncated with a warning naming the line.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "rosetta/data/vocabularies.h"
#include "rosetta/decode/search.h"

namespace rosetta {

struct Translation {
  std::vector<std::string> texts;  // n-best, best first
  std::vector<float> scores;
  int64_t tokens = 0;              // target pieces of the best, EOS not counted
};

class Translator {
 public:
  Translator(const Transformer& model, const Vocabularies& vocabularies, SearchOptions options, int64_t batch_size,
             int64_t max_source_tokens);

  // first_line_number names lines in warnings (1-based).
  std::vector<Translation> translate(const std::vector<std::string>& lines, int64_t first_line_number = 1) const;
  // Just the best translation of each line.
  std::vector<std::string> translate_best(const std::vector<std::string>& lines) const;

 private:
  const Transformer& model_;
  const Vocabularies& vocabularies_;
  SearchOptions options_;
  int64_t batch_size_;
  int64_t max_source_tokens_;
};

}  // namespace rosetta
