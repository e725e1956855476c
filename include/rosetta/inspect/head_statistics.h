// What each attention head does, over many sentences (Voita et al. 2019,
// "Analyzing multi-head self-attention"): how sure it is, how spread out,
// how much it rests on the sentence boundary, and whether it points at a
// neighbour. Optionally, what masking it costs in BLEU (head_ablation.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rosetta/inspect/attention_map.h"

namespace rosetta {

struct HeadStatistics {
  std::string kind;  // "encoder_self", "decoder_self" or "cross"
  int64_t layer = 0, head = 0;
  int64_t queries = 0;      // query positions seen
  double confidence = 0;    // mean of each query's largest weight
  double entropy_bits = 0;  // mean entropy of each query's weights, in bits
  double boundary = 0;      // mean weight on the boundary key: the source's </s>; <s> for decoder self-attention
  // Self-attention only (NaN for cross-attention, and `next` for the causal
  // decoder): share of queries whose largest weight is on the token before,
  // on the token itself, after.
  double previous = 0, same = 0, next = 0;
};

// Sums the statistics of every head over the attention maps it is given.
class HeadStatisticsSum {
 public:
  void add(const AttentionMap& map);
  // Means over every query seen, kind by kind, layer by layer, head by head.
  std::vector<HeadStatistics> means() const;

 private:
  std::vector<HeadStatistics> sums_;  // in means()' order, once the first map has come
};

// A report: the statistics and, when ablated, the BLEU of the full model and
// of the model without each head (same order as heads).
struct HeadReport {
  std::vector<HeadStatistics> heads;
  int64_t sentences = 0;
  double bleu = -1;              // < 0: no ablation
  std::vector<double> ablated;   // BLEU with heads[i] masked
};

std::string head_table(const HeadReport& report);        // aligned columns, a legend
std::string head_json_lines(const HeadReport& report);   // one JSON object a head

}  // namespace rosetta
