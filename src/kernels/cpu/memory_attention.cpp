// The incremental decoder's cross-attention: each row's one new query over
// the encoder output of its sentence. As oneDNN products this was two
// batched [1 x Dh] . [Dh x S] matmuls, a mask add and a softmax a layer and
// step, running at a few GFLOP/s; here it is one pass over contiguous keys.
#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/attention_row.h"
#include "kernels/kernels.h"
#include "rosetta/error.h"

namespace rosetta::kernels {

void memory_attention(const Tensor& q, const Tensor& keys, const Tensor& values, const Tensor& mask, int64_t group,
                      float scale, Tensor& out, Tensor* weights_out) {
  check(keys.ndim() == 4 && keys.shape() == values.shape() && keys.is_contiguous() && values.is_contiguous(),
        "memory_attention: keys ", shape_text(keys.shape()), " and values ", shape_text(values.shape()));
  const int64_t sentences = keys.dim(0), heads = keys.dim(1), length = keys.dim(2), dh = keys.dim(3);
  const int64_t d = heads * dh;
  check(group >= 1 && q.ndim() == 2 && q.dim(0) == sentences * group && q.dim(1) == d && q.strides()[1] == 1 &&
            out.shape() == Shape{q.dim(0), d} && out.is_contiguous(),
        "memory_attention: queries ", shape_text(q.shape()), " (row stride ", q.ndim() == 2 ? q.strides()[0] : 0,
        "), output ", shape_text(out.shape()), " for ", group, " rows each of keys ", shape_text(keys.shape()));
  check(!mask.defined() || (mask.numel() == sentences * length && mask.is_contiguous()), "memory_attention: mask ",
        shape_text(mask.shape()), " for keys ", shape_text(keys.shape()));
  check(!weights_out || (weights_out->shape() == Shape{sentences, heads, group, length} && weights_out->is_contiguous()),
        "memory_attention: attention weights ", shape_text(weights_out ? weights_out->shape() : Shape{}),
        " for keys ", shape_text(keys.shape()), " and ", group, " rows each");
  float* weights_data = weights_out ? weights_out->data() : nullptr;
  const int64_t q_stride = q.strides()[0];
  const float* query_data = q.data();
  const float* mask_data = mask.defined() ? mask.data() : nullptr;
  float* out_data = out.data();
#pragma omp parallel
  {
    std::vector<float> weights(static_cast<size_t>(length));
#pragma omp for collapse(2) schedule(static)
    for (int64_t n = 0; n < sentences; ++n)
      for (int64_t h = 0; h < heads; ++h) {
        const float* k = keys.data() + (n * heads + h) * length * dh;  // [S, Dh] of this sentence and head
        const float* v = values.data() + (n * heads + h) * length * dh;
        const float* hidden = mask_data ? mask_data + n * length : nullptr;
        for (int64_t g = 0; g < group; ++g) {
          const int64_t row = n * group + g;
          attend_row(
              query_data + row * q_stride + h * dh, dh, length, scale, hidden, [&](int64_t s) { return k + s * dh; },
              [&](int64_t s) { return v + s * dh; }, weights.data(), out_data + row * d + h * dh);
          if (weights_data) std::copy(weights.begin(), weights.end(), weights_data + ((n * heads + h) * group + g) * length);
        }
      }
  }
}

}  // namespace rosetta::kernels
