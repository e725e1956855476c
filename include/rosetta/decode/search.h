// Beam search and greedy search over the model's incremental decoder.
//
// Beam search follows fairseq (and the PyTorch reference): scores are summed
// log-probabilities; each step takes the best 2K of the K x V candidates of a
// sentence; an EOS among the first K finishes a hypothesis with score
// sum / length^A (length counts EOS); the first K others continue (fewer
// when the vocabulary is smaller than the beam: the other beams stay empty); a
// sentence is done once it has K finished hypotheses; at the length cap
// (a * source tokens + b, source EOS included) only EOS may follow. PAD and
// BOS are never produced. Finished sentences leave the batch.
#pragma once

#include <cstdint>
#include <vector>

#include "rosetta/model/transformer.h"

namespace rosetta {

struct SearchOptions {
  int64_t beam_size = 5;         // 1: greedy
  float length_penalty = 1.0f;   // A in score / length^A
  float max_length_a = 1.5f;
  int64_t max_length_b = 10;
  int64_t n_best = 1;            // hypotheses returned per sentence (<= beam_size)
  // Greedy: work out each picked token's log-probability for the score (a
  // pass of exponentials over every row, ~6% of greedy decoding); without,
  // scores stay 0 and the tokens are the same (the largest logit).
  bool greedy_scores = true;
  // Alignments: record this decoder layer's cross-attention, averaged over
  // these heads (empty: all), for every hypothesis; -1: record nothing.
  int64_t attention_layer = -1;
  std::vector<int64_t> attention_heads = {};
};

struct Hypothesis {
  std::vector<int32_t> tokens;  // without EOS
  float score = 0;              // length-normalised log-probability (greedy: the plain sum)
  // With SearchOptions::attention_layer: per token, the attention it was
  // produced with over the source positions (EOS and padding included).
  std::vector<std::vector<float>> attention = {};
};

// The output cap of a source of src_tokens tokens (EOS included).
int64_t max_output_length(const SearchOptions& options, int64_t src_tokens);

// sources: token ids each ending with EOS. Returns, per source, up to n_best
// hypotheses, best first.
std::vector<std::vector<Hypothesis>> beam_search(const Transformer& model,
                                                 const std::vector<std::vector<int32_t>>& sources,
                                                 const SearchOptions& options);
std::vector<Hypothesis> greedy_search(const Transformer& model, const std::vector<std::vector<int32_t>>& sources,
                                      const SearchOptions& options);

}  // namespace rosetta
