#include "rosetta/tensor/tensor.h"

#include <algorithm>
#include <cstring>

#include "allocator.h"
#include "rosetta/error.h"

namespace rosetta {

class Storage {
 public:
  explicit Storage(int64_t count)
      : data_(static_cast<float*>(detail::allocate(static_cast<size_t>(count) * sizeof(float), bytes_))) {}
  ~Storage() { detail::deallocate(data_, bytes_); }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  float* data() { return data_; }

 private:
  size_t bytes_;
  float* data_;
};

Tensor Tensor::empty(const Shape& shape) {
  for (int64_t d : shape) check(d >= 0, "negative extent in shape ", shape_text(shape));
  Tensor t;
  t.storage_ = std::make_shared<Storage>(rosetta::numel(shape));
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  return t;
}

Tensor Tensor::zeros(const Shape& shape) { return full(shape, 0.0f); }

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape);
  std::fill_n(t.data(), t.numel(), value);
  return t;
}

Tensor Tensor::from_vector(const Shape& shape, const std::vector<float>& values) {
  check(static_cast<int64_t>(values.size()) == rosetta::numel(shape), "from_vector: ",
        values.size(), " values do not fill shape ", shape_text(shape));
  Tensor t = empty(shape);
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

int64_t Tensor::dim(int axis) const { return shape_[normalize_axis(axis, shape_)]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (size_t i = shape_.size(); i-- > 0;) {
    if (shape_[i] == 1) continue;
    if (strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

float* Tensor::data() {
  check(defined(), "data() of an undefined tensor");
  return storage_->data() + offset_;
}

const float* Tensor::data() const {
  check(defined(), "data() of an undefined tensor");
  return storage_->data() + offset_;
}

float Tensor::item() const {
  check(numel() == 1, "item() needs one element, the tensor has shape ", shape_text(shape_));
  return *data();
}

std::vector<float> Tensor::to_vector() const {
  std::vector<float> out(static_cast<size_t>(numel()));
  if (out.empty()) return out;
  if (is_contiguous()) {
    std::memcpy(out.data(), data(), out.size() * sizeof(float));
    return out;
  }
  // Odometer walk over a strided view; used for tests and I/O, not hot paths.
  const float* base = data();
  std::vector<int64_t> index(shape_.size(), 0);
  for (size_t n = 0; n < out.size(); ++n) {
    int64_t offset = 0;
    for (size_t i = 0; i < shape_.size(); ++i) offset += index[i] * strides_[i];
    out[n] = base[offset];
    for (size_t i = shape_.size(); i-- > 0;) {
      if (++index[i] < shape_[i]) break;
      index[i] = 0;
    }
  }
  return out;
}

Tensor Tensor::view(Shape shape) const {
  check(is_contiguous(), "view", shape_text(shape), " of a non-contiguous tensor of shape ",
        shape_text(shape_), "; make it contiguous first");
  int64_t known = 1;
  int inferred = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      check(inferred < 0, "view", shape_text(shape), ": only one extent may be -1");
      inferred = static_cast<int>(i);
    } else {
      known *= shape[i];
    }
  }
  if (inferred >= 0) {
    check(known > 0 && numel() % known == 0, "cannot view shape ", shape_text(shape_), " as ",
          shape_text(shape));
    shape[inferred] = numel() / known;
  }
  check(rosetta::numel(shape) == numel(), "cannot view shape ", shape_text(shape_), " as ",
        shape_text(shape));
  Tensor t = *this;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  return t;
}

Tensor Tensor::permute(const std::vector<int>& order) const {
  check(order.size() == shape_.size(), "permute order of ", order.size(),
        " axes for shape ", shape_text(shape_));
  std::vector<bool> seen(order.size(), false);
  Tensor t = *this;
  for (size_t i = 0; i < order.size(); ++i) {
    const int axis = normalize_axis(order[i], shape_);
    check(!seen[axis], "permute order repeats axis ", axis);
    seen[axis] = true;
    t.shape_[i] = shape_[axis];
    t.strides_[i] = strides_[axis];
  }
  return t;
}

Tensor Tensor::transpose(int axis0, int axis1) const {
  std::vector<int> order(shape_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::swap(order[normalize_axis(axis0, shape_)], order[normalize_axis(axis1, shape_)]);
  return permute(order);
}

Tensor Tensor::narrow(int axis, int64_t start, int64_t length) const {
  const int a = normalize_axis(axis, shape_);
  check(start >= 0 && length >= 0 && start + length <= shape_[a], "narrow(", axis, ", ", start,
        ", ", length, ") is out of range for shape ", shape_text(shape_));
  Tensor t = *this;
  t.offset_ += start * strides_[a];
  t.shape_[a] = length;
  return t;
}

}  // namespace rosetta
