// Matrix products through oneDNN matmul. Transposed operands arrive as
// strided views and are handed to oneDNN as such (no copy); if oneDNN has no
// implementation for a layout, the operand is made contiguous first. In bf16
// the inputs are rounded into bf16 copies with the same strides (one oneDNN
// reorder each) and the product accumulates and lands in fp32.
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "context.h"
#include "kernels/kernels.h"
#include "rosetta/error.h"

namespace rosetta::kernels {

using namespace dnnl_ctx;

namespace {

std::atomic<Precision> current_precision{Precision::fp32};

// A bf16 copy of a (possibly strided) f32 tensor, with the same strides.
struct Bf16Operand {
  Tensor storage;  // holds the bf16 values, two to a float
  dnnl::memory::desc desc;
  dnnl::memory memory() const { return dnnl::memory(desc, engine(), const_cast<float*>(storage.data())); }
};

Bf16Operand to_bf16(const Tensor& t) {
  int64_t span = 1;  // elements from the first to the last one the view reaches
  for (int i = 0; i < t.ndim(); ++i) span += (t.dim(i) - 1) * t.strides()[i];
  Bf16Operand out;
  out.storage = Tensor::empty({(span + 1) / 2});
  out.desc = dnnl::memory::desc(dnnl::memory::dims(t.shape().begin(), t.shape().end()), dnnl::memory::data_type::bf16,
                                dnnl::memory::dims(t.strides().begin(), t.strides().end()));
  std::string key = "to_bf16";
  key_append(key, t);
  const Entry entry = cached(key, [&] {
    dnnl::reorder::primitive_desc pd(engine(), desc_of(t), engine(), out.desc, attributes());
    return Entry{dnnl::reorder(pd), pd};
  });
  execute(entry, {{DNNL_ARG_FROM, memory_of(t)}, {DNNL_ARG_TO, out.memory()}});
  return out;
}

// bf16 copies of weights, kept while weights are frozen.
struct FrozenWeights {
  std::mutex mutex;
  int depth = 0;
  std::map<std::string, Bf16Operand> copies;  // by address, shape and strides
};

FrozenWeights& frozen() {
  static FrozenWeights instance;
  return instance;
}

Bf16Operand weight_to_bf16(const Tensor& t) {
  FrozenWeights& f = frozen();
  std::string key;
  {
    std::lock_guard lock(f.mutex);
    if (f.depth == 0) return to_bf16(t);
    key = std::to_string(reinterpret_cast<uintptr_t>(t.data()));
    key_append(key, t);
    if (const auto it = f.copies.find(key); it != f.copies.end()) return it->second;
  }
  Bf16Operand copy = to_bf16(t);  // outside the lock: other threads go on
  std::lock_guard lock(f.mutex);
  if (f.depth > 0) f.copies.emplace(key, copy);
  return copy;
}

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
  const bool bf16 = current_precision.load(std::memory_order_relaxed) == Precision::bf16;
  key += bf16 ? "bf16" : "";
  Bf16Operand a16, b16;
  if (bf16) {
    a16 = to_bf16(a);
    b16 = options.b_is_weight ? weight_to_bf16(b) : to_bf16(b);
  }
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
    dnnl::matmul::desc desc(bf16 ? a16.desc : desc_of(a), bf16 ? b16.desc : desc_of(b), bias_desc, desc_of(c));
    dnnl::matmul::primitive_desc pd(desc, attr, engine());
    return Entry{dnnl::matmul(pd), pd};
  });
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, bf16 ? a16.memory() : memory_of(a)},
                                             {DNNL_ARG_WEIGHTS, bf16 ? b16.memory() : memory_of(b)},
                                             {DNNL_ARG_DST, memory_of(c)}};
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

void begin_frozen_weights() {
  std::lock_guard lock(frozen().mutex);
  ++frozen().depth;
}

void end_frozen_weights() {
  std::lock_guard lock(frozen().mutex);
  if (--frozen().depth == 0) frozen().copies.clear();
}

size_t frozen_weight_copies() {
  std::lock_guard lock(frozen().mutex);
  return frozen().copies.size();
}

void set_matmul_precision(Precision precision) { current_precision = precision; }
Precision matmul_precision() { return current_precision; }

std::string native_bf16_isa() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    default: return "";
  }
}

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
