// What a translation attended to: every attention weight of a teacher-forced
// pass over one sentence pair, with the tokens, for pictures (SVG) and for
// other tools (JSON in the layout bertviz reads).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rosetta/data/vocabularies.h"
#include "rosetta/model/transformer.h"

namespace rosetta {

struct AttentionMap {
  std::vector<std::string> source;      // source pieces, then </s>: encoder queries and keys, cross keys
  std::vector<std::string> target_in;   // <s>, then target pieces: decoder self-attention keys
  std::vector<std::string> target_out;  // target pieces, then </s>: what each decoder query produced
  // [layer][head][query][key]
  using Weights = std::vector<std::vector<std::vector<std::vector<float>>>>;
  Weights encoder_self, decoder_self, cross;
};

// source_ids end with EOS; target_ids are pieces without BOS or EOS.
AttentionMap attention_map(const Transformer& model, const Vocabularies& vocabularies,
                           const std::vector<int32_t>& source_ids, const std::vector<int32_t>& target_ids);

// {"tokens": {...}, "encoder_self" | "decoder_self" | "cross": attn[layer][head][query][key]}
std::string attention_json(const AttentionMap& map);

struct AttentionPicture {
  std::string kind = {};  // with layer and head: "encoder_self", "decoder_self" or "cross"
  int64_t layer = -1;    // -1: the grid of every layer and head of every kind
  int64_t head = -1;
  int64_t max_tokens = 100;  // longer sides are cut, and the picture says so
};
// An SVG: a grid of small heat maps (rows layers, columns heads) per kind,
// or one large labelled map. Throws naming a kind, layer or head the model lacks.
std::string attention_svg(const AttentionMap& map, const AttentionPicture& picture);

}  // namespace rosetta
