// Text in, text out: encodes lines with the source vocabulary, sorts them by
// length, decodes them in batches (beam or greedy), detokenizes, and gives
// the translations back in input order. Empty lines give empty lines; input
// longer than the model allows is truncated with a warning naming the line.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "rosetta/data/vocabularies.h"
#include "rosetta/decode/alignment.h"
#include "rosetta/decode/search.h"

namespace rosetta {

struct Translation {
  std::vector<std::string> texts;  // n-best, best first
  std::vector<float> scores;
  std::vector<std::string> alignments;  // per n-best, when alignments were asked for
  int64_t tokens = 0;              // target pieces of the best, EOS not counted
  std::vector<int32_t> best_pieces;  // their ids
};

class Translator {
 public:
  Translator(const Transformer& model, const Vocabularies& vocabularies, SearchOptions options, int64_t batch_size,
             int64_t max_source_tokens);

  // Alignments for every translation (rosetta/decode/alignment.h), from the
  // cross-attention the search records as it goes (which changes nothing it
  // finds). Throws for a layer or head the model lacks.
  void set_alignment(const AlignmentOptions& options);

  // first_line_number names lines in warnings (1-based).
  std::vector<Translation> translate(const std::vector<std::string>& lines, int64_t first_line_number = 1) const;
  // Forced alignment: the alignments (set_alignment's options) of given
  // translations, target[i] of source[i], as the model attends when it
  // produces them. Lines are cut to the model's lengths, with a warning.
  std::vector<std::string> align_given(const std::vector<std::string>& source, const std::vector<std::string>& target,
                                       int64_t first_line_number = 1) const;
  // Just the best translation of each line.
  std::vector<std::string> translate_best(const std::vector<std::string>& lines) const;

 private:
  const Transformer& model_;
  const Vocabularies& vocabularies_;
  // The alignments of given hypotheses, from a teacher-forced pass.
  std::vector<std::vector<std::string>> align(const std::vector<std::vector<int32_t>>& sources,
                                              const std::vector<std::vector<Hypothesis>>& found) const;
  // One hypothesis's links from its attention rows (a row a token, over the
  // source positions with EOS and padding).
  std::string links(const std::vector<int32_t>& source, const std::vector<int32_t>& tokens,
                    const std::vector<std::vector<float>>& rows) const;
  std::vector<bool> word_starts(const Tokenizer& tokenizer, const std::vector<int32_t>& ids, size_t count) const;

  SearchOptions options_;
  bool align_ = false;
  AlignmentOptions alignment_;
  int64_t batch_size_;
  int64_t max_source_tokens_;
};

}  // namespace rosetta
