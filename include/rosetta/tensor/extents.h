// A list of up to eight extents (or strides) kept inline. Shapes are copied
// with every tensor view, operand and key: as std::vector each copy was a
// heap allocation, and decoding one sentence made ~450 a step.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <type_traits>
#include <vector>

namespace rosetta {

[[noreturn]] void throw_too_many_axes(size_t axes);  // names the limit

class Extents {
 public:
  static constexpr size_t kCapacity = 8;  // checkpoints hold tensors of up to 8 axes too
  using value_type = int64_t;
  using size_type = size_t;
  using difference_type = std::ptrdiff_t;
  using reference = int64_t&;
  using const_reference = const int64_t&;
  using iterator = int64_t*;
  using const_iterator = const int64_t*;
  using reverse_iterator = std::reverse_iterator<iterator>;
  using const_reverse_iterator = std::reverse_iterator<const_iterator>;

  Extents() = default;
  explicit Extents(size_t n, int64_t value = 0) { resize(n, value); }
  Extents(std::initializer_list<int64_t> values) : Extents(values.begin(), values.end()) {}
  template <typename It, typename = std::enable_if_t<!std::is_integral_v<It>>>
  Extents(It first, It last) {
    for (; first != last; ++first) push_back(static_cast<int64_t>(*first));
  }
  Extents(const std::vector<int64_t>& values) : Extents(values.begin(), values.end()) {}  // NOLINT: as before
  operator std::vector<int64_t>() const { return {begin(), end()}; }                     // NOLINT

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t* data() { return values_.data(); }
  const int64_t* data() const { return values_.data(); }
  iterator begin() { return data(); }
  iterator end() { return data() + size_; }
  const_iterator begin() const { return data(); }
  const_iterator end() const { return data() + size_; }
  const_iterator cbegin() const { return begin(); }
  const_iterator cend() const { return end(); }
  reverse_iterator rbegin() { return reverse_iterator(end()); }
  reverse_iterator rend() { return reverse_iterator(begin()); }
  const_reverse_iterator rbegin() const { return const_reverse_iterator(end()); }
  const_reverse_iterator rend() const { return const_reverse_iterator(begin()); }
  int64_t& operator[](size_t i) { return values_[i]; }
  const int64_t& operator[](size_t i) const { return values_[i]; }
  int64_t& front() { return values_[0]; }
  const int64_t& front() const { return values_[0]; }
  int64_t& back() { return values_[size_ - 1]; }
  const int64_t& back() const { return values_[size_ - 1]; }

  void clear() { size_ = 0; }
  void reserve(size_t) {}
  void resize(size_t n, int64_t value = 0) {
    if (n > kCapacity) throw_too_many_axes(n);
    for (size_t i = size_; i < n; ++i) values_[i] = value;
    size_ = n;
  }
  void push_back(int64_t value) {
    if (size_ == kCapacity) throw_too_many_axes(size_ + 1);
    values_[size_++] = value;
  }
  void emplace_back(int64_t value) { push_back(value); }
  void pop_back() { --size_; }
  iterator insert(const_iterator at, int64_t value) { return insert(at, size_t{1}, value); }
  iterator insert(const_iterator at, size_t n, int64_t value) {
    const size_t i = static_cast<size_t>(at - begin());
    if (n > kCapacity - size_) throw_too_many_axes(size_ + n);
    std::copy_backward(begin() + i, end(), end() + n);
    std::fill(begin() + i, begin() + i + n, value);
    size_ += n;
    return begin() + i;
  }
  template <typename It, typename = std::enable_if_t<!std::is_integral_v<It>>>
  iterator insert(const_iterator at, It first, It last) {
    const size_t i = static_cast<size_t>(at - begin());
    const Extents inserted(first, last);
    if (inserted.size() > kCapacity - size_) throw_too_many_axes(size_ + inserted.size());
    std::copy_backward(begin() + i, end(), end() + inserted.size());
    std::copy(inserted.begin(), inserted.end(), begin() + i);
    size_ += inserted.size();
    return begin() + i;
  }
  iterator erase(const_iterator at) { return erase(at, at + 1); }
  iterator erase(const_iterator first, const_iterator last) {
    const size_t i = static_cast<size_t>(first - begin()), n = static_cast<size_t>(last - first);
    std::copy(begin() + i + n, end(), begin() + i);
    size_ -= n;
    return begin() + i;
  }

  friend bool operator==(const Extents& a, const Extents& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
  friend bool operator!=(const Extents& a, const Extents& b) { return !(a == b); }
  friend bool operator<(const Extents& a, const Extents& b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  std::array<int64_t, kCapacity> values_{};
  size_t size_ = 0;
};

}  // namespace rosetta
