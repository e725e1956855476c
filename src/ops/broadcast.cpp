#include "broadcast.h"

namespace rosetta::ops::detail {

Tensor with_rank(const Tensor& t, int rank) {
  Tensor c = kernels::contiguous(t);
  if (c.ndim() == rank) return c;
  Shape shape(rank - c.ndim(), 1);
  shape.insert(shape.end(), c.shape().begin(), c.shape().end());
  return c.view(shape);
}

Tensor reduce_to_shape(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const Tensor target = Tensor::empty(shape);
  Tensor aligned = with_rank(target, g.ndim());
  kernels::reduce_sum(kernels::contiguous(g), aligned);
  return target;
}

}  // namespace rosetta::ops::detail
