// Embedding: gather rows forward, scatter-add them back.
#include "kernels/kernels.h"
#include "rosetta/error.h"
#include "rosetta/ops/ops.h"

namespace rosetta::ops {

Var embedding(const Var& table, const std::vector<int32_t>& ids, const Shape& ids_shape,
              int32_t padding_id) {
  check(table.value().ndim() == 2, "embedding table must be [V, D], got ",
        shape_text(table.shape()));
  check(numel(ids_shape) == static_cast<int64_t>(ids.size()), "embedding: ", ids.size(),
        " ids for shape ", shape_text(ids_shape));
  Shape out_shape = ids_shape;
  out_shape.push_back(table.value().dim(1));
  Tensor out = Tensor::empty(out_shape);
  kernels::embedding_forward(table.value(), ids, out);
  return Var::from_op(out, {table}, [table = table.sink(), ids, padding_id](const Tensor& g) {
    Tensor dtable = Tensor::zeros(table.shape());
    kernels::embedding_backward(g, ids, padding_id, dtable);
    table.accumulate_grad(dtable);
  });
}

}  // namespace rosetta::ops
