#include "rosetta/data/token_matrix.h"

#include <algorithm>

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

}  // namespace rosetta
