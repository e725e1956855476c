#include "rosetta/ops/tensor_ops.h"

#include <algorithm>

#include "kernels/kernels.h"
#include "rosetta/error.h"

namespace rosetta::ops {

void copy_into(const Tensor& src, Tensor dst) { kernels::copy(src, dst); }

Tensor gather_rows(const Tensor& t, const std::vector<int32_t>& rows) {
  const Tensor table = kernels::contiguous(t).view({t.dim(0), -1});
  Shape shape = t.shape();
  shape[0] = static_cast<int64_t>(rows.size());
  Tensor out = Tensor::empty(shape);
  kernels::embedding_forward(table, rows, out);
  return out;
}

Tensor indexed_attention(const Tensor& q, const Tensor& keys, const Tensor& values, const std::vector<int32_t>& index,
                         int64_t stride, int64_t length, int64_t heads, float scale) {
  check(q.ndim() == 2 && static_cast<int64_t>(index.size()) >= (q.dim(0) - 1) * stride + length,
        "indexed_attention: an index of ", index.size(), " entries for ", shape_text(q.shape()), " queries, stride ",
        stride, ", length ", length);
  Tensor out = Tensor::empty(q.shape());
  kernels::indexed_attention(q.strides()[1] == 1 ? q : kernels::contiguous(q), keys, values, index.data(), stride, length,
                             heads, scale, out);
  return out;
}

Tensor memory_attention(const Tensor& q, const Tensor& keys, const Tensor& values, const Tensor& mask, int64_t group,
                        float scale, Tensor* weights) {
  check(q.ndim() == 2 && keys.ndim() == 4, "memory_attention: queries ", shape_text(q.shape()), " and keys ",
        shape_text(keys.shape()));
  Tensor out = Tensor::empty({q.dim(0), q.dim(1)});
  if (weights) *weights = Tensor::empty({keys.dim(0), keys.dim(1), group, keys.dim(2)});
  kernels::memory_attention(q.strides()[1] == 1 ? q : kernels::contiguous(q), kernels::contiguous(keys),
                            kernels::contiguous(values), mask.defined() ? kernels::contiguous(mask) : mask, group,
                            scale, out, weights);
  return out;
}

Tensor stacked_linear(const Tensor& x, const std::vector<Tensor>& weights, const std::vector<Tensor>& biases) {
  check(x.ndim() == 2 && !weights.empty() && biases.size() == weights.size(), "stacked_linear: input ",
        shape_text(x.shape()), ", ", weights.size(), " weights, ", biases.size(), " biases");
  int64_t out = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    check(weights[i].ndim() == 2 && weights[i].dim(1) == x.dim(1) && biases[i].numel() == weights[i].dim(0),
          "stacked_linear: weight ", shape_text(weights[i].shape()), " with bias ", shape_text(biases[i].shape()),
          " for input ", shape_text(x.shape()));
    out += weights[i].dim(0);
  }
  Tensor bias = Tensor::empty({out});  // a few hundred floats: copied plainly, not as oneDNN reorders each step
  int64_t at = 0;
  for (const Tensor& b : biases) {
    const Tensor packed = kernels::contiguous(b);
    std::copy_n(packed.data(), packed.numel(), bias.data() + at);
    at += packed.numel();
  }
  Tensor y = Tensor::empty({x.dim(0), out});
  kernels::matmul(kernels::MatmulOperand(kernels::contiguous(x)), kernels::MatmulOperand::transposed_weights(weights), y,
                  {.bias = &bias});
  return y;
}

Tensor contiguous(const Tensor& t) { return kernels::contiguous(t); }

}  // namespace rosetta::ops
