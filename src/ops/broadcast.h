// Shared by the broadcasting ops: aligning ranks, and summing a gradient
// back down to the shape of the input it belongs to.
#pragma once

#include "kernels/kernels.h"
#include "rosetta/tensor/tensor.h"

namespace rosetta::ops::detail {

// t viewed with leading unit axes up to rank (t made contiguous if needed).
Tensor with_rank(const Tensor& t, int rank);

// Sums g over the axes along which shape was broadcast; returns shape.
Tensor reduce_to_shape(const Tensor& g, const Shape& shape);

}  // namespace rosetta::ops::detail
