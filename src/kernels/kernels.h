// The private kernel layer: what the ops run, forward and backward, on plain
// tensors. Everything oneDNN sits behind these functions in kernels/dnnl/;
// the few kernels oneDNN has no primitive for are hand-written in
// kernels/cpu/. Outputs are preallocated by the caller and contiguous unless
// a function says otherwise; inputs may be strided views where noted.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rosetta/tensor/tensor.h"

namespace rosetta::kernels {

size_t primitive_cache_size();  // oneDNN primitives held by the cache
size_t primitives_created();    // and made so far (cache misses)
double primitive_creation_seconds();  // wall time spent making them
void reserve_primitive_cache(size_t primitives);  // room for at least this many
// Floating-point operations of the matrix products run so far in this
// process (2 M N K each, batch extents multiplied in): a step's arithmetic,
// counted where it runs, for GFLOP/s against the products' peak.
uint64_t product_flops();

// ---- layout (oneDNN reorder) -------------------------------------------
void copy(const Tensor& src, Tensor& dst);  // same shape, any strides on both
Tensor contiguous(const Tensor& t);         // t itself when already contiguous

// ---- precision ------------------------------------------------------------
// Matmuls compute in fp32, or with bf16 inputs (rounded on the way in, the
// strided views converted as they are) and fp32 accumulation and output.
// Process-wide; every other kernel stays fp32.
enum class Precision { fp32, bf16 };
void set_matmul_precision(Precision precision);
Precision matmul_precision();
// Inside a frozen-weights scope (nested scopes count) weights do not change,
// so a weight operand (MatmulOperand::transposed_weights) is prepared once
// and kept (translation reads the same weights every step); the copies go
// when the outermost scope ends.
void begin_frozen_weights();
void end_frozen_weights();
// oneDNN's best ISA with native bf16 dot products on this CPU ("avx512_core_amx",
// "avx512_core_bf16"), or "" when bf16 would be emulated.
std::string native_bf16_isa();

// ---- matmul (oneDNN matmul) -------------------------------------------
// c[..., M, N] = alpha * a[..., M, K] @ b[..., K, N] (+ bias[N]) (+ c when
// accumulate). a and b may be strided views (a transpose is a view); batch
// extents of b may be 1 (broadcast). c must be contiguous.
struct MatmulOptions {
  const Tensor* bias = nullptr;
  float alpha = 1.0f;
  bool accumulate = false;
  bool relu = false;         // c = max(c, 0) as the product is written (a oneDNN post-op)
};
void matmul(const Tensor& a, const Tensor& b, Tensor& c, const MatmulOptions& options = {});

// A matmul operand prepared once for several products: in bf16 precision its
// bf16 copy, in fp32 the tensor itself. transposed() swaps the last two axes
// without a copy.
struct LaidOutCopies;  // defined with the matmul kernel
class MatmulOperand {
 public:
  MatmulOperand() = default;
  explicit MatmulOperand(const Tensor& t);
  // Weights [Out_i, In] side by side as the right operand [In, sum Out_i] of
  // x W^T. Inside a frozen-weights scope: a plain [In, Out] copy made once
  // (in the products' precision), which oneDNN multiplies 1.3-3x faster than
  // a transposed view at the decoder's few rows, and beside it copies in the
  // layout oneDNN's product prefers (made when a product first asks), which
  // spares it repacking the weights at every call: 1.1-1.2x at 32 rows,
  // 1.6-3x at 1-8 (bf16, one thread). Outside one: one weight is its
  // transposed view (no copy), several are copied side by side.
  static MatmulOperand transposed_weights(const std::vector<Tensor>& weights);
  MatmulOperand transposed() const;
  // A matrix [R, C] whose values a kernel already wrote in the products'
  // precision (bf16 two to a float when bf16), rows row_stride values apart
  // (0: C, contiguous).
  static MatmulOperand of_storage(Tensor storage, int64_t rows, int64_t cols, bool bf16, int64_t row_stride = 0);
  MatmulOperand in_bf16() const;
  bool is_bf16() const { return bf16_; }
  const Shape& shape() const { return shape_; }
  const Strides& strides() const { return strides_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_[i < 0 ? shape_.size() + i : i]; }
  void* data() const;
  // Frozen weights: their copies in oneDNN's preferred layouts; else null.
  LaidOutCopies* laid_out() const { return laid_out_.get(); }

 private:
  Tensor storage_;  // f32 values, or bf16 ones two to a float
  Shape shape_;
  Strides strides_;
  bool bf16_ = false;
  std::shared_ptr<LaidOutCopies> laid_out_;
};
// Batch extents of the operands may be fewer than c's (unit extents prepended).
void matmul(const MatmulOperand& a, const MatmulOperand& b, Tensor& c, const MatmulOptions& options = {});
// a [M, K] @ b [K, N] written as an operand of further products, in their
// precision: in bf16 oneDNN rounds as it writes, with no fp32 [M, N] copy
// (a hidden layer that only the next product reads).
MatmulOperand product_operand(const MatmulOperand& a, const MatmulOperand& b, const MatmulOptions& options = {});

// ---- binary (oneDNN binary) -------------------------------------------
// out = a (op) b, with b broadcast to a's shape (same rank, extents equal or 1).
enum class BinaryOp { add, sub, mul };
void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out);

// ---- eltwise (oneDNN eltwise) -----------------------------------------
enum class Activation { relu, gelu };  // gelu is the erf form, as PyTorch's default
void activation_forward(Activation kind, const Tensor& x, Tensor& y);
void activation_backward(Activation kind, const Tensor& x, const Tensor& dy, Tensor& dx);
void affine(const Tensor& x, float alpha, float beta, Tensor& y);  // y = alpha * x + beta

// ---- softmax over the last axis (oneDNN softmax_v2) ---------------------
void softmax_forward(const Tensor& x, Tensor& y, bool log);
void softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx, bool log);

// ---- layer norm over the last axis (oneDNN layer_normalization) ---------
// mean and variance [rows] are written by the forward and read by the backward.
void layer_norm_forward(const Tensor& x, const Tensor& gain, const Tensor& bias, float eps,
                        Tensor& y, Tensor& mean, Tensor& variance);
void layer_norm_backward(const Tensor& x, const Tensor& dy, const Tensor& gain,
                         const Tensor& bias, const Tensor& mean, const Tensor& variance, float eps, Tensor& dx,
                         Tensor& dgain, Tensor& dbias);

// ---- reduction (oneDNN reduction) ---------------------------------------
// out has x's rank with extent 1 on every reduced axis.
void reduce_sum(const Tensor& x, Tensor& out);

// ---- hand-written: oneDNN has no gather, dropout or fused loss ----------
// out[n, :] = table[ids[n], :]
void embedding_forward(const Tensor& table, const std::vector<int32_t>& ids, Tensor& out);
// dtable[ids[n], :] += dout[n, :] for every n with ids[n] != skip_id
void embedding_backward(const Tensor& dout, const std::vector<int32_t>& ids, int32_t skip_id,
                        Tensor& dtable);

// One query per row over cached keys and values picked by an index (the
// decoder's step; oneDNN has no attention primitive). Per row b and head h
// (D = heads * Dh): out[b, h] = sum_p softmax_p(scale * q[b, h] . k_p) v_p
// with k_p = keys[index[b * stride + p], h] (v_p alike), p < length.
// q: [B, D] with unit column stride (rows may be further apart, as in a
// stacked Q/K/V product); out: [B, D]; keys, values: [R, D]; contiguous.
void indexed_attention(const Tensor& q, const Tensor& keys, const Tensor& values, const int32_t* index,
                       int64_t stride, int64_t length, int64_t heads, float scale, Tensor& out);

// Each row's one query over its sentence's keys and values (the decoder's
// cross-attention step): row b reads sentence n = b / group, and per head h
// out[b, h] = sum_s softmax_s(scale * q[b, h] . keys[n, h, s] + mask[n, s]) values[n, h, s].
// q: [N * group, D] with unit column stride; keys, values: [N, H, S, Dh],
// contiguous; mask: N * S additive values (-inf hides a key) or undefined.
// weights_out, when given, receives the softmax weights [N, H, group, S].
void memory_attention(const Tensor& q, const Tensor& keys, const Tensor& values, const Tensor& mask, int64_t group,
                      float scale, Tensor& out, Tensor* weights_out = nullptr);

// dst[i] = src[i] rounded to bf16 (nearest, ties to even), as bit patterns;
// the serial form for callers already inside a parallel loop (same values).
void round_to_bf16(const float* src, uint16_t* dst, int64_t n);
void round_to_bf16_serial(const float* src, uint16_t* dst, int64_t n);

// y = x * mask with mask[i] = 0 with probability p, else 1 / (1 - p); the
// mask is a hash of (key, i), so the backward recomputes it instead of
// storing it: dx = dy * mask.
void dropout_forward(const Tensor& x, float p, uint64_t key, Tensor& y);
void dropout_backward(const Tensor& dy, float p, uint64_t key, Tensor& dx);
// The feed-forward block's dropout, fused with what surrounds it: the ReLU's
// output z [R, F] (a product_operand, held by nothing else) dropped in place,
// each value as dropout_forward makes it from z's (in bf16 rounded once more
// after the 1 / (1 - p) scale); and the backward's gradient through dropout
// and ReLU read off the dropped z (a unit passes its gradient, scaled, where
// z > 0) straight as an operand, its column sums [F] (the bias gradient,
// added in a fixed order) written on the way. p == 0 is no dropout.
void dropout_operand(MatmulOperand& z, float p, uint64_t key);
MatmulOperand relu_dropout_backward_operand(const Tensor& dz, const MatmulOperand& z, float p, Tensor& bias_grad);
// A gradient g [R, C] (contiguous) as a product operand, in the products'
// precision (bf16: rounded as round_to_bf16 does), with its column sums [C]
// (a bias's gradient, added in a fixed order) written in the same pass.
MatmulOperand gradient_operand(const Tensor& g, Tensor& column_sums);

// A post-norm block's end in one pass a row: sum = x + dropout(h) (the mask
// of dropout_forward with the same key), y = layer norm of sum over the last
// axis with gain and bias; mean and rstd (1 / sqrt(variance + eps)) [rows]
// are kept for the backward, which gives the residual's gradient dsum and
// the sublayer's dh = dropout(dsum), and writes dgain, dbias (summed in a
// fixed order). x, h, sum, y, dy, dsum, dh: contiguous [..., D]. y_bf16,
// when given ((numel + 1) / 2 floats), receives y rounded to bf16 as
// round_to_bf16 does, written in the same pass (for the products that read y).
void residual_layer_norm_forward(const Tensor& x, const Tensor& h, float p, uint64_t key, const Tensor& gain,
                                 const Tensor& bias, float eps, Tensor& sum, Tensor& y, Tensor& mean, Tensor& rstd,
                                 Tensor* y_bf16 = nullptr);
void residual_layer_norm_backward(const Tensor& dy, const Tensor& sum, const Tensor& mean, const Tensor& rstd,
                                  const Tensor& gain, float p, uint64_t key, Tensor& dsum, Tensor& dh, Tensor& dgain,
                                  Tensor& dbias);

// Label-smoothed cross-entropy over rows of logits [N, V]. Per row:
// (1 - eps) * -log p[target] + (eps / V) * sum_v -log p[v]; rows whose target
// is ignore_id count nothing. Returns the summed loss and the summed plain
// negative log-likelihood in double, and writes the softmax into probs [N, V]
// for the backward.
struct CrossEntropySums {
  double loss = 0, nll = 0;
};
// probs may be logits itself (the logits are then overwritten).
CrossEntropySums cross_entropy_forward(const Tensor& logits, std::span<const int32_t> targets, float smoothing,
                                       int32_t ignore_id, Tensor& probs);
// out[r] = log softmax(logits[r])[tokens[r]], from the row's largest value
// and sum of exponentials (no log-probability row is written).
void token_log_probabilities(const Tensor& logits, std::span<const int32_t> tokens, std::span<float> out);
// The sums alone (no gradient wanted): the logits are only read.
CrossEntropySums cross_entropy_loss(const Tensor& logits, std::span<const int32_t> targets, float smoothing,
                                    int32_t ignore_id);
// The sums, and in place logits become scale * (softmax - smoothed one-hot), zero on ignored rows:
// the forward and the backward in one sweep over each row. bf16_gradient,
// when given, also receives each row of the gradient rounded to bf16 (as
// round_to_bf16), row r at bf16_gradient + r * bf16_row_stride, written
// while the row is in cache (for the products that read the gradient).
CrossEntropySums cross_entropy_gradient(Tensor& logits, std::span<const int32_t> targets, float smoothing,
                                        int32_t ignore_id, float scale, uint16_t* bf16_gradient = nullptr,
                                        int64_t bf16_row_stride = 0);
// In place: probs becomes dlogits = scale * (softmax - smoothed one-hot), zero on ignored rows.
void cross_entropy_backward(Tensor& probs, std::span<const int32_t> targets, float smoothing, int32_t ignore_id,
                            float scale);

}  // namespace rosetta::kernels
