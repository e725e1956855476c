// The special pieces every vocabulary has, and a padded batch of token ids,
// [rows, cols] row-major: what batches are made of.
#pragma once

#include <cstdint>
#include <vector>

#include "rosetta/tensor/shape.h"

namespace rosetta {

// Special token ids, fixed across the project (SentencePiece models are
// trained with them).
constexpr int32_t kPadId = 0, kUnkId = 1, kBosId = 2, kEosId = 3;
// The piece a masked language model reads where a word was hidden (a
// SentencePiece user symbol: id 4 in the vocabularies Rosetta trains).
inline constexpr const char* kMaskPiece = "<mask>";

struct TokenMatrix {
  int64_t rows = 0, cols = 0;
  std::vector<int32_t> ids;  // rows * cols, padded with the pad id

  // Pads the sequences to the longest one.
  static TokenMatrix from_rows(const std::vector<std::vector<int32_t>>& sequences, int32_t pad_id);
  int32_t at(int64_t r, int64_t c) const { return ids[r * cols + c]; }
  Shape shape() const { return {rows, cols}; }
};

}  // namespace rosetta
