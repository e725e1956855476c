// What a decoder-only model does after training: continue a prompt by
// sampling (temperature, top-k, nucleus/top-p; reproducible from a seed) and
// score given sentences (log-probability and perplexity).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "rosetta/model/transformer.h"

namespace rosetta {

struct SamplingOptions {
  float temperature = 1.0f;  // > 0; below 1 sharper, above 1 flatter
  int64_t top_k = 0;         // keep the k most likely pieces (0: all)
  float top_p = 1.0f;        // keep the fewest most likely pieces holding this much probability (1: all)
  int64_t max_length = 100;  // pieces generated at most, EOS not counted
  uint64_t seed = 1;
};

// The distribution a step samples from: log_probs [V] of the next piece ->
// probabilities [V] after temperature, top-k and top-p (zero outside, summing
// to 1). Padding, BOS and unknown are never drawn.
std::vector<double> sampling_distribution(const float* log_probs, int64_t vocab, const SamplingOptions& options);

// n continuations of prompt (pieces, without BOS), each until EOS or
// max_length: the pieces generated (prompt and EOS not included). The same
// seed gives the same continuations.
std::vector<std::vector<int32_t>> sample_continuations(const Transformer& model, const std::vector<int32_t>& prompt,
                                                       int64_t n, const SamplingOptions& options);

struct SentenceScore {
  double log_prob = 0;  // natural log of P(pieces, EOS)
  int64_t tokens = 0;   // pieces + EOS
  double perplexity() const { return tokens ? std::exp(-log_prob / static_cast<double>(tokens)) : 0; }
};

// Log-probabilities of given sentences (pieces without BOS/EOS) under the
// model, batch_size sentences at a time; a sentence longer than the model's
// positions is cut (the caller warns).
std::vector<SentenceScore> score_sentences(const Transformer& model, const std::vector<std::vector<int32_t>>& sentences,
                                           int64_t batch_size);

}  // namespace rosetta
