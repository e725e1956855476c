// The oneDNN engine and stream, memory wrappers for our tensors, and a cache
// that creates each primitive once per shape, layout and thread count and
// shares it between threads.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <functional>
#include <string>
#include <unordered_map>

#include "rosetta/tensor/tensor.h"

namespace rosetta::kernels::dnnl_ctx {

dnnl::engine& engine();
dnnl::stream& stream();

dnnl::memory::desc desc_of(const Tensor& t);  // plain f32 with the tensor's strides
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
};
// Returns the cached entry for key, calling make() only the first time.
Entry cached(std::string key, const std::function<Entry()>& make);
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

// Runs the primitive on this thread's stream with a scratchpad of its own.
void execute(const Entry& entry, std::unordered_map<int, dnnl::memory> args);

}  // namespace rosetta::kernels::dnnl_ctx
