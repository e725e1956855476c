// Matrix products through oneDNN matmul. Transposed operands arrive as
// strided views and are handed to oneDNN as such (no copy); if oneDNN has no
// implementation for a layout, the operand is made contiguous first. In bf16
// an operand is rounded into a bf16 copy with the same strides when it is
// prepared (MatmulOperand), so an operand used by several products (an
// activation in the forward and the backward, a gradient in two backward
// products) is rounded once; the product accumulates and lands in fp32.
#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "context.h"
#include "kernels/kernels.h"
#include "rosetta/error.h"

namespace rosetta::kernels {

using namespace dnnl_ctx;

// A frozen weight's copies in the layouts oneDNN's products chose for it
// (format "any"): usually one, blocked for its dot-product instructions.
struct LaidOutCopies {
  std::mutex mutex;
  std::vector<std::pair<dnnl::memory::desc, Tensor>> copies;
};

namespace {

std::atomic<Precision> current_precision{Precision::fp32};
std::atomic<uint64_t> flops_so_far{0};

// True when oneDNN's fast paths take the layout: each matrix has a unit
// stride in one of its two last axes.
bool matrix_layout_ok(const Tensor& t) {
  const auto& s = t.strides();
  const int n = t.ndim();
  return s[n - 1] == 1 || s[n - 2] == 1;
}

// Elements from the first to the last one a view reaches.
int64_t span_of(const Shape& shape, const Strides& strides) {
  int64_t span = 1;
  for (size_t i = 0; i < shape.size(); ++i) span += (shape[i] - 1) * strides[i];
  return span;
}

// A bf16 copy of a (possibly strided) f32 tensor with the same strides: the
// storage run converted flat when the view covers it (transposes, head
// splits), else through a oneDNN reorder.
Tensor to_bf16(const Tensor& t) {
  const int64_t span = t.numel() == 0 ? 0 : span_of(t.shape(), t.strides());
  Tensor storage = Tensor::empty({(span + 1) / 2});  // two bf16 values a float
  if (span == t.numel()) {
    round_to_bf16(t.data(), reinterpret_cast<uint16_t*>(storage.data()), span);
    return storage;
  }
  const dnnl::memory::desc desc(dnnl::memory::dims(t.shape().begin(), t.shape().end()), dnnl::memory::data_type::bf16,
                                dnnl::memory::dims(t.strides().begin(), t.strides().end()));
  std::string key = "to_bf16";
  key_append(key, t);
  const Entry entry = cached(std::move(key), [&] {
    dnnl::reorder::primitive_desc pd(engine(), desc_of(t), engine(), desc, attributes());
    return Entry{dnnl::reorder(pd), pd};
  });
  execute(entry, {{DNNL_ARG_FROM, memory_of(t)}, {DNNL_ARG_TO, dnnl::memory(desc, engine(), storage.data())}});
  return storage;
}

// Weights as kept while they are frozen: plain [In, Out] copies (in the
// products' precision at the time), by the weights' addresses, shapes and
// strides.
struct FrozenWeights {
  std::mutex mutex;
  int depth = 0;
  std::map<std::string, MatmulOperand> operands;
};

FrozenWeights& frozen() {
  static FrozenWeights instance;
  return instance;
}

// The weights [Out_i, In] transposed and side by side: a plain [In, sum Out_i].
Tensor stack_transposed(const std::vector<Tensor>& weights) {
  const int64_t in = weights.front().dim(1);
  int64_t out = 0;
  for (const Tensor& w : weights) {
    check(w.ndim() == 2 && w.dim(1) == in, "stacked weights must be [Out, ", in, "], got ", shape_text(w.shape()));
    out += w.dim(0);
  }
  Tensor stacked = Tensor::empty({in, out});
  int64_t at = 0;
  for (const Tensor& w : weights) {
    Tensor slot = stacked.narrow(1, at, w.dim(0));
    copy(w.transpose(0, 1), slot);
    at += w.dim(0);
  }
  return stacked;
}

// The operand's memory descriptor at the product's rank (unit batch extents prepended).
dnnl::memory::desc desc_at_rank(const MatmulOperand& x, int rank) {
  std::array<int64_t, DNNL_MAX_NDIMS> shape, strides;
  const int own = static_cast<int>(x.shape().size());
  check(own >= 1 && rank >= own && rank <= DNNL_MAX_NDIMS, "matmul operand of ", own, " axes in a product of ", rank);
  const int extra = rank - own;
  std::copy(x.shape().begin(), x.shape().end(), shape.begin() + extra);
  std::copy(x.strides().begin(), x.strides().end(), strides.begin() + extra);
  for (int i = extra - 1; i >= 0; --i) {
    shape[i] = 1;
    strides[i] = shape[i + 1] * strides[i + 1];
  }
  return strided_desc(shape.data(), strides.data(), rank,
                      x.is_bf16() ? dnnl::memory::data_type::bf16 : dnnl::memory::data_type::f32);
}

void key_append(std::string& key, const MatmulOperand& x) {
  key += x.is_bf16() ? 'h' : 's';
  dnnl_ctx::key_append(key, x.shape());
  dnnl_ctx::key_append(key, x.strides());
}

// The frozen weight b in the layout `wanted`: its plain storage when that is
// it, else a copy reordered on first use and kept with the weight.
dnnl::memory weights_laid_out(const MatmulOperand& b, const dnnl::memory::desc& plain, const dnnl::memory::desc& wanted) {
  if (wanted == plain) return dnnl::memory(plain, engine(), b.data());
  LaidOutCopies& laid_out = *b.laid_out();
  std::lock_guard lock(laid_out.mutex);
  for (const auto& [desc, copy] : laid_out.copies)
    if (desc == wanted) return dnnl::memory(desc, engine(), const_cast<float*>(copy.data()));
  Tensor copy = Tensor::empty({static_cast<int64_t>((wanted.get_size() + sizeof(float) - 1) / sizeof(float))});
  dnnl::memory to(wanted, engine(), copy.data());
  const dnnl::reorder::primitive_desc pd(engine(), plain, engine(), wanted, attributes());
  execute(with_scratchpad(Entry{dnnl::reorder(pd), pd}), {{DNNL_ARG_FROM, dnnl::memory(plain, engine(), b.data())}, {DNNL_ARG_TO, to}});
  laid_out.copies.emplace_back(wanted, copy);
  return to;
}

// Where a product lands: fp32 values of a tensor, or bf16 values (two to a
// float) of a plain [M, N] storage for the next product to read.
struct Destination {
  dnnl::memory::desc desc;
  void* data;
  std::string key;
};

Destination destination_of(Tensor& c) {
  std::string key = "f";
  dnnl_ctx::key_append(key, c);
  return {desc_of(c), c.data(), std::move(key)};
}

void run_matmul(const MatmulOperand& a, const MatmulOperand& b, const Destination& c, const MatmulOptions& options) {
  // Frozen weights let oneDNN choose their layout (the copy is made once).
  const bool choose_layout = b.laid_out() != nullptr && b.ndim() == 2;
  std::string key = choose_layout ? "matmul/any" : "matmul";
  key_append(key, a);
  key_append(key, b);
  key += c.key;
  key += options.bias ? "bias" : "";
  key += options.accumulate ? "acc" : "";
  key += options.relu ? "relu" : "";
  dnnl_ctx::key_append(key, options.alpha);
  const dnnl::memory::dims c_dims = c.desc.dims();
  const int rank = static_cast<int>(c_dims.size());
  const dnnl::memory::desc a_desc = desc_at_rank(a, rank), b_desc = desc_at_rank(b, rank);
  Shape bias_shape(rank, 1);
  bias_shape.back() = c_dims.back();
  const Entry entry = cached(std::move(key), [&] {
    dnnl::memory::desc bias_desc;
    if (options.bias) bias_desc = desc_of(bias_shape, contiguous_strides(bias_shape));
    dnnl::primitive_attr attr = attributes();
    if (options.alpha != 1.0f) attr.set_output_scales(0, {options.alpha});
    dnnl::post_ops ops;
    if (options.accumulate) ops.append_sum(1.0f);
    if (options.relu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    if (ops.len() > 0) attr.set_post_ops(ops);
    const dnnl::memory::desc b_any = choose_layout ? dnnl::memory::desc(b_desc.dims(), b_desc.data_type(), dnnl::memory::format_tag::any) : b_desc;
    dnnl::matmul::desc desc(a_desc, b_any, bias_desc, c.desc);
    dnnl::matmul::primitive_desc pd(desc, attr, engine());
    return Entry{dnnl::matmul(pd), pd};
  });
  Arguments args{{DNNL_ARG_SRC, dnnl::memory(a_desc, engine(), a.data())},
                 {DNNL_ARG_WEIGHTS, choose_layout ? weights_laid_out(b, b_desc, entry.pd.weights_desc())
                                                  : dnnl::memory(b_desc, engine(), b.data())},
                 {DNNL_ARG_DST, dnnl::memory(c.desc, engine(), c.data)}};
  Tensor bias;  // outlives execute(): the memory object only borrows its data
  if (options.bias) {
    bias = contiguous(*options.bias).view(bias_shape);
    args.add(DNNL_ARG_BIAS, memory_of(bias));
  }
  execute(entry, std::move(args));
  uint64_t outputs = 1;
  for (const int64_t extent : c_dims) outputs *= static_cast<uint64_t>(extent);
  flops_so_far.fetch_add(2 * outputs * static_cast<uint64_t>(a.dim(-1)), std::memory_order_relaxed);
}

}  // namespace

MatmulOperand::MatmulOperand(const Tensor& t) {
  check(t.ndim() >= 2, "matmul needs matrices, got ", shape_text(t.shape()));
  const Tensor ok = matrix_layout_ok(t) ? t : contiguous(t);
  shape_ = ok.shape();
  strides_ = ok.strides();
  if (current_precision.load(std::memory_order_relaxed) == Precision::bf16) {
    storage_ = to_bf16(ok);
    bf16_ = true;
  } else {
    storage_ = ok;
  }
}

MatmulOperand MatmulOperand::transposed_weights(const std::vector<Tensor>& weights) {
  check(!weights.empty(), "transposed_weights: no weights");
  FrozenWeights& f = frozen();
  std::string key;
  {
    std::lock_guard lock(f.mutex);
    if (f.depth == 0) {  // the weights may change after this product: no copy unless several are stacked
      if (weights.size() == 1) return MatmulOperand(weights.front()).transposed();
      return MatmulOperand(stack_transposed(weights));
    }
    key += current_precision.load() == Precision::bf16 ? 'h' : 's';
    for (const Tensor& w : weights) {
      char address[24];
      key.append(address, std::to_chars(address, address + sizeof address, reinterpret_cast<uintptr_t>(w.data())).ptr);
      dnnl_ctx::key_append(key, w);
    }
    if (const auto it = f.operands.find(key); it != f.operands.end()) return it->second;
  }
  MatmulOperand operand(stack_transposed(weights));  // outside the lock: other threads go on
  operand.laid_out_ = std::make_shared<LaidOutCopies>();
  std::lock_guard lock(f.mutex);
  if (f.depth > 0) f.operands.emplace(key, operand);
  return operand;
}

MatmulOperand MatmulOperand::transposed() const {
  MatmulOperand out = *this;
  out.laid_out_.reset();  // its copies hold the other orientation
  const size_t n = shape_.size();
  std::swap(out.shape_[n - 1], out.shape_[n - 2]);
  std::swap(out.strides_[n - 1], out.strides_[n - 2]);
  return out;
}

MatmulOperand MatmulOperand::of_storage(Tensor storage, int64_t rows, int64_t cols, bool bf16, int64_t row_stride) {
  if (row_stride == 0) row_stride = cols;
  const int64_t values = rows == 0 ? 0 : (rows - 1) * row_stride + cols;
  check(row_stride >= cols && storage.numel() == (bf16 ? (rows * row_stride + 1) / 2 : values),
        "matmul operand storage of ", storage.numel(), " floats for ", rows, " x ", cols, bf16 ? " bf16" : " fp32",
        " values ", row_stride, " apart");
  MatmulOperand out;
  out.storage_ = std::move(storage);
  out.shape_ = {rows, cols};
  out.strides_ = {row_stride, 1};
  out.bf16_ = bf16;
  return out;
}

MatmulOperand MatmulOperand::in_bf16() const {
  if (bf16_) return *this;
  MatmulOperand out = *this;
  out.storage_ = to_bf16(storage_);
  out.bf16_ = true;
  out.laid_out_.reset();  // a temporary bf16 copy: its layouts are not worth keeping
  return out;
}

void* MatmulOperand::data() const { return const_cast<float*>(storage_.data()); }

void begin_frozen_weights() {
  std::lock_guard lock(frozen().mutex);
  ++frozen().depth;
}

void end_frozen_weights() {
  std::lock_guard lock(frozen().mutex);
  if (--frozen().depth == 0) frozen().operands.clear();
}

void set_matmul_precision(Precision precision) { current_precision = precision; }
uint64_t product_flops() { return flops_so_far.load(std::memory_order_relaxed); }
Precision matmul_precision() { return current_precision; }

std::string native_bf16_isa() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    default: return "";
  }
}

void matmul(const MatmulOperand& a, const MatmulOperand& b, Tensor& c, const MatmulOptions& options) {
  check(a.dim(-1) == b.dim(-2), "matmul inner extents differ: ", shape_text(a.shape()), " @ ", shape_text(b.shape()));
  // c may be a permuted view of a dense tensor (a product that writes its
  // rows straight into another layout, as attention's heads merged).
  const bool dense_rows = c.is_contiguous() || (c.numel() > 0 && c.strides().back() == 1 &&
                                                span_of(c.shape(), c.strides()) == c.numel());
  check(dense_rows && c.ndim() >= std::max(a.ndim(), b.ndim()) && c.dim(-2) == a.dim(-2) &&
            c.dim(-1) == b.dim(-1),
        "matmul output ", shape_text(c.shape()), " does not fit ", shape_text(a.shape()), " @ ", shape_text(b.shape()));
  if (a.is_bf16() != b.is_bf16()) {  // operands prepared in different precisions: the product takes bf16
    run_matmul(a.in_bf16(), b.in_bf16(), destination_of(c), options);
    return;
  }
  run_matmul(a, b, destination_of(c), options);
}

MatmulOperand product_operand(const MatmulOperand& a, const MatmulOperand& b, const MatmulOptions& options) {
  check(a.ndim() == 2 && b.ndim() == 2 && a.dim(1) == b.dim(0), "product_operand needs matrices that chain, got ",
        shape_text(a.shape()), " @ ", shape_text(b.shape()));
  check(!options.accumulate, "product_operand writes a new operand: nothing to accumulate into");
  const int64_t rows = a.dim(0), cols = b.dim(1);
  if (current_precision.load(std::memory_order_relaxed) != Precision::bf16) {
    Tensor c = Tensor::empty({rows, cols});
    matmul(a, b, c, options);
    return MatmulOperand::of_storage(c, rows, cols, false);
  }
  // oneDNN rounds to bf16 as it writes (nearest, ties to even: round_to_bf16's values).
  Tensor storage = Tensor::empty({(rows * cols + 1) / 2});
  const int64_t dims[2] = {rows, cols}, strides[2] = {cols, 1};
  std::string key = "h";
  dnnl_ctx::key_append(key, Shape{rows, cols});
  const Destination c{strided_desc(dims, strides, 2, dnnl::memory::data_type::bf16), storage.data(), std::move(key)};
  run_matmul(a.in_bf16(), b.in_bf16(), c, options);
  return MatmulOperand::of_storage(std::move(storage), rows, cols, true);
}

void matmul(const Tensor& a, const Tensor& b, Tensor& c, const MatmulOptions& options) {
  check(a.ndim() >= 2 && b.ndim() >= 2, "matmul needs matrices, got ", shape_text(a.shape()),
        " and ", shape_text(b.shape()));
  matmul(MatmulOperand(a), MatmulOperand(b), c, options);
}

}  // namespace rosetta::kernels
