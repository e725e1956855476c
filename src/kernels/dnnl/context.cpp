#include "context.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <charconv>
#include <cstdlib>
#include <list>
#include <mutex>
#include <unordered_map>

#include "kernels/kernels.h"
#include "rosetta/error.h"

namespace rosetta::kernels::dnnl_ctx {
namespace {

// Each primitive holds its JIT code and buffers (megabytes for the larger
// matmuls), and a training run meets thousands of batch shapes: keep the
// most recent ones (the shapes of the current batch, and the decoder's),
// rebuilding the rest costs a few milliseconds. ROSETTA_PRIMITIVE_CACHE
// overrides the count; reserve_primitive_cache() raises the default.
const char* capacity_from_environment() { return std::getenv("ROSETTA_PRIMITIVE_CACHE"); }

std::atomic<size_t>& capacity_value() {
  static std::atomic<size_t> value = [] {
    const char* env = capacity_from_environment();
    return env ? static_cast<size_t>(std::max(1L, std::atol(env))) : size_t{256};
  }();
  return value;
}

size_t capacity() { return capacity_value().load(); }

struct Cache {
  std::mutex mutex;
  std::list<std::pair<std::string, Entry>> entries;  // most recent first
  std::unordered_map<std::string, std::list<std::pair<std::string, Entry>>::iterator> index;
  size_t misses = 0;
  double making_seconds = 0;  // spent in make(): what new shapes cost
};

Cache& cache() {
  static Cache instance;
  return instance;
}

}  // namespace

dnnl::engine& engine() {
  static dnnl::engine instance = [] {
    // oneDNN's own cache would keep what ours evicts.
    dnnl::set_primitive_cache_capacity(static_cast<int>(capacity()));
    return dnnl::engine(dnnl::engine::kind::cpu, 0);
  }();
  return instance;
}

dnnl::stream& stream() {
  thread_local dnnl::stream instance(engine());
  return instance;
}

dnnl::memory::desc strided_desc(const int64_t* dims, const int64_t* strides, int rank, dnnl::memory::data_type type) {
  // Through the C call: the C++ constructor copies dims and strides into two vectors.
  check(rank >= 1 && rank <= DNNL_MAX_NDIMS, "oneDNN takes tensors of 1 to ", DNNL_MAX_NDIMS, " axes, not ", rank);
  dnnl_memory_desc_t desc;
  dnnl::error::wrap_c_api(dnnl_memory_desc_init_by_strides(&desc, rank, dims, static_cast<dnnl_data_type_t>(type), strides),
                          "could not describe a strided tensor");
  return dnnl::memory::desc(desc);
}

dnnl::memory::desc desc_of(const Shape& shape, const Strides& strides) {
  static constexpr int64_t kOne = 1;
  if (shape.empty()) return strided_desc(&kOne, &kOne, 1, dnnl::memory::data_type::f32);
  return strided_desc(shape.data(), strides.data(), static_cast<int>(shape.size()), dnnl::memory::data_type::f32);
}

dnnl::memory::desc desc_of(const Tensor& t) { return desc_of(t.shape(), t.strides()); }

dnnl::memory memory_of(const Tensor& t) {
  return dnnl::memory(desc_of(t), engine(), const_cast<float*>(t.data()));
}

namespace {

// Every op call builds its key, so without temporary strings.
void append_number(std::string& key, int64_t value) {
  char digits[24];
  key.append(digits, std::to_chars(digits, digits + sizeof digits, value).ptr);
}

}  // namespace

void key_append(std::string& key, const Shape& shape) {
  if (key.capacity() < 192) key.reserve(192);
  key += '[';
  for (int64_t d : shape) {
    append_number(key, d);
    key += ',';
  }
  key += ']';
}

void key_append(std::string& key, float value) {
  key += 'f';
  append_number(key, static_cast<int64_t>(std::bit_cast<uint32_t>(value)));
}

void key_append(std::string& key, const Tensor& t) {
  key_append(key, t.shape());
  key_append(key, t.strides());
}

// The lock covers the lookup and the insertion, not the creation: a stream
// that meets a new shape does not stall the others while oneDNN compiles it
// (and a backward primitive's make() may look up its forward hint).
Entry cached(std::string key, MakeEntry make) {
  const std::string::size_type described = key.size();  // the part worth printing
  key += "|threads=";
  append_number(key, omp_get_max_threads());
  Cache& c = cache();
  {
    std::lock_guard lock(c.mutex);
    auto it = c.index.find(key);
    if (it != c.index.end()) {
      c.entries.splice(c.entries.begin(), c.entries, it->second);
      return it->second->second;
    }
  }
  Entry entry;
  thread_local int nesting = 0;  // a backward make() may make its forward hint: time the outer one only
  const auto started = std::chrono::steady_clock::now();
  ++nesting;
  try {
    entry = with_scratchpad(make());
  } catch (const dnnl::error& e) {
    --nesting;
    throw Error(concat("oneDNN could not create a primitive for ", key.substr(0, described), ": ", e.what()));
  } catch (...) {
    --nesting;
    throw;
  }
  const bool outermost = --nesting == 0;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::lock_guard lock(c.mutex);
  if (outermost) c.making_seconds += seconds;
  if (auto it = c.index.find(key); it != c.index.end()) return it->second->second;  // another thread was first
  ++c.misses;
  c.entries.emplace_front(key, std::move(entry));
  c.index[key] = c.entries.begin();
  if (c.entries.size() > capacity()) {
    c.index.erase(c.entries.back().first);
    c.entries.pop_back();
  }
  return c.entries.front().second;
}

size_t cache_size() {
  std::lock_guard lock(cache().mutex);
  return cache().entries.size();
}

void reserve(size_t primitives) {
  if (capacity_from_environment() || primitives <= capacity()) return;  // the user's count stands
  std::lock_guard lock(cache().mutex);
  capacity_value() = primitives;
  dnnl::set_primitive_cache_capacity(static_cast<int>(primitives));
}

size_t cache_misses() {
  std::lock_guard lock(cache().mutex);
  return cache().misses;
}

double making_seconds() {
  std::lock_guard lock(cache().mutex);
  return cache().making_seconds;
}

dnnl::primitive_attr attributes() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

void Arguments::add(int arg, dnnl::memory memory) {
  check(size_ < kMax, "a oneDNN primitive with more than ", kMax, " arguments");
  c_args_[size_] = {arg, memory.get()};
  memories_[size_++] = std::move(memory);
}

Entry with_scratchpad(Entry entry) {
  entry.scratchpad = entry.pd.scratchpad_desc();
  entry.scratchpad_bytes = entry.scratchpad.get_size();
  return entry;
}

void execute(const Entry& entry, Arguments args) {
  Tensor scratchpad;  // outlives execute(): the memory object only borrows it
  if (const size_t bytes = entry.scratchpad_bytes; bytes > 0) {
    scratchpad = Tensor::empty({static_cast<int64_t>((bytes + sizeof(float) - 1) / sizeof(float))});
    args.add(DNNL_ARG_SCRATCHPAD, dnnl::memory(entry.scratchpad, engine(), scratchpad.data()));
  }
  // The C call takes the arguments as an array (the C++ one wants a hash map).
  dnnl::error::wrap_c_api(dnnl_primitive_execute(entry.primitive.get(), stream().get(), args.size(), args.data()),
                          "could not execute a primitive");
  stream().wait();
}

}  // namespace rosetta::kernels::dnnl_ctx

namespace rosetta::kernels {
size_t primitive_cache_size() { return dnnl_ctx::cache_size(); }
size_t primitives_created() { return dnnl_ctx::cache_misses(); }
double primitive_creation_seconds() { return dnnl_ctx::making_seconds(); }
void reserve_primitive_cache(size_t primitives) { dnnl_ctx::reserve(primitives); }
}  // namespace rosetta::kernels
