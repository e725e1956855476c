// Binary arithmetic (oneDNN binary) and unary functions (oneDNN eltwise),
// forward and backward.
#include "context.h"
#include "kernels/kernels.h"
#include "rosetta/error.h"

namespace rosetta::kernels {

using namespace dnnl_ctx;

namespace {

dnnl::algorithm binary_algorithm(BinaryOp op) {
  switch (op) {
    case BinaryOp::add: return dnnl::algorithm::binary_add;
    case BinaryOp::sub: return dnnl::algorithm::binary_sub;
    case BinaryOp::mul: return dnnl::algorithm::binary_mul;
  }
  throw Error("unknown binary op");
}

dnnl::algorithm activation_algorithm(Activation kind) {
  switch (kind) {
    case Activation::relu: return dnnl::algorithm::eltwise_relu;
    case Activation::gelu: return dnnl::algorithm::eltwise_gelu_erf;
  }
  throw Error("unknown activation");
}

void check_same(const char* what, const Tensor& a, const Tensor& b) {
  check(a.shape() == b.shape(), what, ": shapes ", shape_text(a.shape()), " and ",
        shape_text(b.shape()), " differ");
}

}  // namespace

void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  check_same("binary", a, out);
  check(a.ndim() == b.ndim(), "binary: ", shape_text(b.shape()), " must have the rank of ",
        shape_text(a.shape()));
  for (int i = 0; i < a.ndim(); ++i)
    check(b.shape()[i] == a.shape()[i] || b.shape()[i] == 1, "binary: ",
          shape_text(b.shape()), " does not broadcast to ", shape_text(a.shape()));
  if (a.numel() == 0) return;
  std::string key = "binary" + std::to_string(static_cast<int>(op));
  key_append(key, a);
  key_append(key, b);
  key_append(key, out);
  const Entry entry = cached(std::move(key), [&] {
    dnnl::binary::desc desc(binary_algorithm(op), desc_of(a), desc_of(b), desc_of(out));
    dnnl::binary::primitive_desc pd(desc, attributes(), engine());
    return Entry{dnnl::binary(pd), pd};
  });
  execute(entry, {{DNNL_ARG_SRC_0, memory_of(a)},
                  {DNNL_ARG_SRC_1, memory_of(b)},
                  {DNNL_ARG_DST, memory_of(out)}});
}

namespace {

Entry eltwise_forward_entry(dnnl::algorithm algorithm, const Tensor& x, float alpha,
                                   float beta) {
  std::string key = "eltwise_fwd" + std::to_string(static_cast<int>(algorithm));
  key_append(key, alpha);
  key_append(key, beta);
  key_append(key, x);
  return cached(std::move(key), [&] {
    dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_training, algorithm, desc_of(x),
                                     alpha, beta);
    dnnl::eltwise_forward::primitive_desc pd(desc, attributes(), engine());
    return Entry{dnnl::eltwise_forward(pd), pd};
  });
}

}  // namespace

void activation_forward(Activation kind, const Tensor& x, Tensor& y) {
  check_same("activation", x, y);
  if (x.numel() == 0) return;
  const Entry entry = eltwise_forward_entry(activation_algorithm(kind), x, 0.0f, 0.0f);
  execute(entry, {{DNNL_ARG_SRC, memory_of(x)}, {DNNL_ARG_DST, memory_of(y)}});
}

void affine(const Tensor& x, float alpha, float beta, Tensor& y) {
  check_same("affine", x, y);
  if (x.numel() == 0) return;
  const Entry entry = eltwise_forward_entry(dnnl::algorithm::eltwise_linear, x, alpha, beta);
  execute(entry, {{DNNL_ARG_SRC, memory_of(x)}, {DNNL_ARG_DST, memory_of(y)}});
}

void activation_backward(Activation kind, const Tensor& x, const Tensor& dy, Tensor& dx) {
  check_same("activation backward", x, dy);
  check_same("activation backward", x, dx);
  if (x.numel() == 0) return;
  const dnnl::algorithm algorithm = activation_algorithm(kind);
  std::string key = "eltwise_bwd" + std::to_string(static_cast<int>(algorithm));
  key_append(key, x);
  key_append(key, dy);
  const Entry entry = cached(std::move(key), [&] {
    const auto hint = typed_pd<dnnl::eltwise_forward::primitive_desc>(
        eltwise_forward_entry(algorithm, x, 0.0f, 0.0f));
    dnnl::eltwise_backward::desc desc(algorithm, desc_of(dy), desc_of(x), 0.0f, 0.0f);
    dnnl::eltwise_backward::primitive_desc pd(desc, attributes(), engine(), hint);
    return Entry{dnnl::eltwise_backward(pd), pd};
  });
  execute(entry, {{DNNL_ARG_SRC, memory_of(x)},
                  {DNNL_ARG_DIFF_DST, memory_of(dy)},
                  {DNNL_ARG_DIFF_SRC, memory_of(dx)}});
}

}  // namespace rosetta::kernels
