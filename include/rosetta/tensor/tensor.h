// Tensor: f32 values in 64-byte-aligned, reference-counted storage, with a
// shape, strides and an offset, so reshape, transpose, permute and narrow are
// views that copy nothing. Arithmetic lives in the ops layer, not here.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

#include "rosetta/tensor/shape.h"

namespace rosetta {

// Only f32 today; the tag keeps room for bf16 storage.
enum class DType { f32 };

class Storage;

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor: defined() is false

  static Tensor empty(const Shape& shape);  // uninitialised values
  static Tensor zeros(const Shape& shape);
  static Tensor full(const Shape& shape, float value);
  static Tensor from_vector(const Shape& shape, const std::vector<float>& values);
  static Tensor scalar(float value) { return full({}, value); }

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return DType::f32; }
  const Shape& shape() const { return shape_; }
  const Strides& strides() const { return strides_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int axis) const;  // negative axes count from the end
  int64_t numel() const { return rosetta::numel(shape_); }
  bool is_contiguous() const;

  float* data();
  const float* data() const;
  float item() const;  // the single value of a one-element tensor
  std::vector<float> to_vector() const;  // row-major copy, any strides

  // Views share storage. view() needs a contiguous tensor; one extent may be -1.
  Tensor view(Shape shape) const;
  Tensor permute(const std::vector<int>& order) const;
  Tensor transpose(int axis0, int axis1) const;
  Tensor narrow(int axis, int64_t start, int64_t length) const;

  // True when no other tensor or view shares this storage, so it may be taken over.
  bool is_unique() const { return storage_ != nullptr && storage_.use_count() == 1; }
  // True when both use the same storage (for tests and aliasing checks).
  bool shares_storage_with(const Tensor& other) const { return storage_ == other.storage_; }

 private:
  std::shared_ptr<Storage> storage_;
  int64_t offset_ = 0;
  Shape shape_;
  Strides strides_;
};

// Bytes currently held by tensors and by the allocator's cache of freed blocks.
struct AllocatorStats {
  int64_t live_bytes = 0;
  int64_t cached_bytes = 0;
  int64_t peak_live_bytes = 0;
};
AllocatorStats allocator_stats();
void release_cached_memory();

}  // namespace rosetta
