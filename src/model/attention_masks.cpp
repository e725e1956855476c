#include "rosetta/model/attention_masks.h"

#include <limits>

namespace rosetta {

Tensor key_padding_mask(const TokenMatrix& tokens, int32_t pad_id) {
  Tensor mask = Tensor::zeros({tokens.rows, 1, 1, tokens.cols});
  float* m = mask.data();
  for (size_t i = 0; i < tokens.ids.size(); ++i)
    if (tokens.ids[i] == pad_id) m[i] = -std::numeric_limits<float>::infinity();
  return mask;
}

Tensor causal_mask(int64_t length) {
  Tensor mask = Tensor::zeros({length, length});
  float* m = mask.data();
  for (int64_t i = 0; i < length; ++i)
    for (int64_t j = i + 1; j < length; ++j) m[i * length + j] = -std::numeric_limits<float>::infinity();
  return mask;
}

}  // namespace rosetta
