// Additive attention masks made from a batch: 0 where a query may look, -inf
// where it may not.
#pragma once

#include <cstdint>

#include "rosetta/data/token_matrix.h"
#include "rosetta/tensor/tensor.h"

namespace rosetta {

// [B, 1, 1, S]: -inf where the key is padding, else 0.
Tensor key_padding_mask(const TokenMatrix& tokens, int32_t pad_id);
// [T, T]: -inf above the diagonal (position t sees positions <= t).
Tensor causal_mask(int64_t length);

}  // namespace rosetta
