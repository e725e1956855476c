// Word alignments from the decoder's cross-attention, as Marian's
// --alignment and fairseq's --print-alignment give them: each target piece
// is linked to the source pieces it attended to when it was produced.
//   hard       one link a target piece, to its most attended source piece
//   THRESHOLD  (a number in (0, 1)) every link whose weight is above it
//   soft       per target token, its weights over the source tokens
// At word level (the default) pieces merge into the words they belong to (a
// piece starting with "▁" starts a word): two words link when any of their
// pieces do; a soft row is the mean of the word's pieces' rows, each summed
// over the pieces of a source word. End-of-sentence tokens never appear;
// the weights are renormalised over the real source tokens.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rosetta {

enum class AlignmentKind { hard, threshold, soft };

struct AlignmentOptions {
  AlignmentKind kind = AlignmentKind::hard;
  float threshold = 0;           // kind threshold
  bool word_level = true;        // false: links between pieces
  int64_t layer = -1;            // decoder layer, from 0; -1: the penultimate (the only one of one)
  std::vector<int64_t> heads;    // averaged; empty: all
};

// "hard", "soft" or a threshold in (0, 1); throws naming the option otherwise.
AlignmentOptions parse_alignment_kind(const std::string& text);
// "all" or comma-separated head numbers from 0.
std::vector<int64_t> parse_alignment_heads(const std::string& text);

// weights[t][s]: the attention of target piece t over source piece s (no
// EOS on either side); *_word_start: the piece starts a word. Pharaoh
// "src-tgt" pairs (0-based, sorted) for hard and threshold links; for soft,
// one comma-joined row a target token, rows separated by spaces.
std::string format_alignment(const std::vector<std::vector<float>>& weights, const std::vector<bool>& src_word_start,
                             const std::vector<bool>& tgt_word_start, const AlignmentOptions& options);

}  // namespace rosetta
