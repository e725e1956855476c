// Matrix products through oneDNN matmul. Transposed operands arrive as
// strided views and are handed to oneDNN as such (no copy); if oneDNN has no
// implementation for a layout, the operand is made contiguous first.
#include <utility>

#include "context.h"
#include "kernels/kernels.h"
#include "rosetta/error.h"

namespace rosetta::kernels {

using namespace dnnl_ctx;

namespace {

// oneDNN wants all three operands of one rank: prepend unit batch extents.
Tensor with_rank(const Tensor& t, int rank) {
  if (t.ndim() == rank) return t;
  Tensor out = t;
  while (out.ndim() < rank) {
    // A unit axis can take any stride; a view through permute keeps storage.
    Shape shape = out.shape();
    shape.insert(shape.begin(), 1);
    out = out.is_contiguous() ? out.view(shape) : contiguous(out).view(shape);
  }
  return out;
}

void run_matmul(const Tensor& a, const Tensor& b, Tensor& c, const MatmulOptions& options) {
  std::string key = "matmul";
  key_append(key, a);
  key_append(key, b);
  key_append(key, c);
  key += options.bias ? "bias" : "";
  key += options.accumulate ? "acc" : "";
  key_append(key, options.alpha);
  const int rank = c.ndim();
  const Entry entry = cached(key, [&] {
    dnnl::memory::desc bias_desc;
    if (options.bias) {
      Shape bias_shape(rank, 1);
      bias_shape.back() = c.shape().back();
      bias_desc = desc_of(bias_shape, contiguous_strides(bias_shape));
    }
    dnnl::primitive_attr attr = attributes();
    if (options.alpha != 1.0f) attr.set_output_scales(0, {options.alpha});
    if (options.accumulate) {
      dnnl::post_ops ops;
      ops.append_sum(1.0f);
      attr.set_post_ops(ops);
    }
    dnnl::matmul::desc desc(desc_of(a), desc_of(b), bias_desc, desc_of(c));
    dnnl::matmul::primitive_desc pd(desc, attr, engine());
    return Entry{dnnl::matmul(pd), pd};
  });
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, memory_of(a)}, {DNNL_ARG_WEIGHTS, memory_of(b)}, {DNNL_ARG_DST, memory_of(c)}};
  Tensor bias;  // outlives execute(): the memory object only borrows its data
  if (options.bias) {
    Shape bias_shape(rank, 1);
    bias_shape.back() = c.shape().back();
    bias = contiguous(*options.bias).view(bias_shape);
    args[DNNL_ARG_BIAS] = memory_of(bias);
  }
  execute(entry, std::move(args));
}

// True when oneDNN's fast paths take the layout: each matrix has a unit
// stride in one of its two last axes.
bool matrix_layout_ok(const Tensor& t) {
  const auto& s = t.strides();
  const int n = t.ndim();
  return s[n - 1] == 1 || s[n - 2] == 1;
}

}  // namespace

void matmul(const Tensor& a, const Tensor& b, Tensor& c, const MatmulOptions& options) {
  check(a.ndim() >= 2 && b.ndim() >= 2, "matmul needs matrices, got ", shape_text(a.shape()),
        " and ", shape_text(b.shape()));
  check(a.dim(-1) == b.dim(-2), "matmul inner extents differ: ", shape_text(a.shape()), " @ ",
        shape_text(b.shape()));
  check(c.is_contiguous() && c.dim(-2) == a.dim(-2) && c.dim(-1) == b.dim(-1),
        "matmul output ", shape_text(c.shape()), " does not fit ", shape_text(a.shape()), " @ ",
        shape_text(b.shape()));
  const int rank = c.ndim();
  const Tensor a_ok = with_rank(matrix_layout_ok(a) ? a : contiguous(a), rank);
  const Tensor b_ok = with_rank(matrix_layout_ok(b) ? b : contiguous(b), rank);
  run_matmul(a_ok, b_ok, c, options);
}

}  // namespace rosetta::kernels
