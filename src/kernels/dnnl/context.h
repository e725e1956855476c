// The oneDNN engine and stream, memory wrappers for our tensors, and a cache
// that creates each primitive once per shape, layout and thread count and
// shares it between threads.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <array>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <utility>

#include "rosetta/tensor/tensor.h"

namespace rosetta::kernels::dnnl_ctx {

dnnl::engine& engine();
dnnl::stream& stream();

dnnl::memory::desc desc_of(const Tensor& t);  // plain f32 with the tensor's strides
dnnl::memory::desc strided_desc(const int64_t* dims, const int64_t* strides, int rank, dnnl::memory::data_type type);
dnnl::memory::desc desc_of(const Shape& shape, const Strides& strides);
dnnl::memory memory_of(const Tensor& t);

// Appends a shape and strides to a cache key.
void key_append(std::string& key, const Tensor& t);
void key_append(std::string& key, const Shape& shape);
// Appends a value baked into a primitive (a scale, an epsilon) by its exact
// bits: two values that print alike must not share a primitive.
void key_append(std::string& key, float value);

// Attributes every primitive is made with: a scratchpad we pass at execution
// (oneDNN's own is shared and may only run on the thread that made the
// primitive; ours run on whichever thread decodes a batch).
dnnl::primitive_attr attributes();

// A cached primitive with the primitive descriptor it was made from (both
// reference-counted handles: a copy stays valid after the cache evicts it).
struct Entry {
  dnnl::primitive primitive;
  dnnl::primitive_desc_base pd;
  // The scratchpad it needs, asked once (with_scratchpad) rather than at every call.
  dnnl::memory::desc scratchpad = {};
  size_t scratchpad_bytes = 0;
};
// The entry with its scratchpad filled in from its primitive descriptor.
Entry with_scratchpad(Entry entry);

// A borrowed callable that makes an entry: a lambda passed to cached() lives
// until the call returns, so no std::function (and its allocation) per call.
class MakeEntry {
 public:
  template <typename F>
  MakeEntry(F&& make)  // NOLINT: converts from any lambda
      : object_(const_cast<void*>(static_cast<const void*>(&make))),
        call_([](void* object) -> Entry { return (*static_cast<std::remove_reference_t<F>*>(object))(); }) {}
  Entry operator()() const { return call_(object_); }

 private:
  void* object_;
  Entry (*call_)(void*);
};

// Returns the cached entry for key, calling make() only the first time.
Entry cached(std::string key, MakeEntry make);
size_t cache_size();
size_t cache_misses();    // primitives created so far
double making_seconds();  // and the wall time spent creating them
void reserve(size_t primitives);  // capacity for at least this many (unless set by the environment)

// A typed copy of an entry's primitive descriptor, for the forward hint that
// backward primitives need (the typed constructor clones it).
template <typename PrimitiveDesc>
PrimitiveDesc typed_pd(const Entry& entry) {
  return PrimitiveDesc(entry.pd.get());
}

// A primitive's arguments, kept on the stack: the decoder runs thousands of
// small primitives a second, and a hash map of them per call showed.
class Arguments {
 public:
  Arguments(std::initializer_list<std::pair<int, dnnl::memory>> args) {
    for (const auto& [arg, memory] : args) add(arg, memory);
  }
  void add(int arg, dnnl::memory memory);
  int size() const { return size_; }
  const dnnl_exec_arg_t* data() const { return c_args_.data(); }

 private:
  static constexpr int kMax = 16;  // layer norm backward takes 10
  std::array<dnnl::memory, kMax> memories_;  // own the handles c_args_ point at
  std::array<dnnl_exec_arg_t, kMax> c_args_{};
  int size_ = 0;
};

// Runs the primitive on this thread's stream with a scratchpad of its own.
void execute(const Entry& entry, Arguments args);

}  // namespace rosetta::kernels::dnnl_ctx
