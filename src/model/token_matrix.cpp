#include "rosetta/model/token_matrix.h"

#include <algorithm>
#include <limits>

namespace rosetta {

TokenMatrix TokenMatrix::from_rows(const std::vector<std::vector<int32_t>>& sequences,
                                   int32_t pad_id) {
  TokenMatrix m;
  m.rows = static_cast<int64_t>(sequences.size());
  for (const auto& s : sequences) m.cols = std::max<int64_t>(m.cols, static_cast<int64_t>(s.size()));
  m.ids.assign(m.rows * m.cols, pad_id);
  for (int64_t r = 0; r < m.rows; ++r)
    std::copy(sequences[r].begin(), sequences[r].end(), m.ids.begin() + r * m.cols);
  return m;
}

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
