#include "rosetta/tensor/shape.h"

#include <algorithm>
#include <ostream>

#include "rosetta/error.h"

namespace rosetta {

int64_t numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Strides contiguous_strides(const Shape& shape) {
  Strides strides(shape.size());
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= std::max<int64_t>(shape[i], 1);
  }
  return strides;
}

std::string to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::ostream& operator<<(std::ostream& out, ShapeText text) { return out << to_string(text.shape); }
std::ostream& operator<<(std::ostream& out, const Shape& shape) { return out << to_string(shape); }

int normalize_axis(int axis, const Shape& shape) {
  const int ndim = static_cast<int>(shape.size());
  const int resolved = axis < 0 ? axis + ndim : axis;
  check(resolved >= 0 && resolved < ndim, "axis ", axis, " is out of range for shape ",
        shape_text(shape));
  return resolved;
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    check(da == db || da == 1 || db == 1, "shapes ", shape_text(a), " and ", shape_text(b),
          " cannot be broadcast together");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace rosetta
