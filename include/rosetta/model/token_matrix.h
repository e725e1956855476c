// A padded batch of token ids, [rows, cols] row-major, and the attention
// masks made from it.
#pragma once

#include <cstdint>
#include <vector>

#include "rosetta/tensor/tensor.h"

namespace rosetta {

// Special token ids, fixed across the project (SentencePiece models are
// trained with them).
constexpr int32_t kPadId = 0, kUnkId = 1, kBosId = 2, kEosId = 3;

struct TokenMatrix {
  int64_t rows = 0, cols = 0;
  std::vector<int32_t> ids;  // rows * cols, padded with the pad id

  // Pads the sequences to the longest one.
  static TokenMatrix from_rows(const std::vector<std::vector<int32_t>>& sequences, int32_t pad_id);
  int32_t at(int64_t r, int64_t c) const { return ids[r * cols + c]; }
  Shape shape() const { return {rows, cols}; }
};

// [B, 1, 1, S]: -inf where the key is padding, else 0.
Tensor key_padding_mask(const TokenMatrix& tokens, int32_t pad_id);
// [T, T]: -inf above the diagonal (position t sees positions <= t).
Tensor causal_mask(int64_t length);

}  // namespace rosetta
