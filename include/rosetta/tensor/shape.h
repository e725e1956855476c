// Shapes and strides: a list of extents, row-major unless a view says otherwise.
// Shape letters used across the code: B batch, S source length, T target
// length, D model width, H heads, Dh head width, F feed-forward width,
// V vocabulary.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "rosetta/tensor/extents.h"

namespace rosetta {

using Shape = Extents;
using Strides = Extents;

int64_t numel(const Shape& shape);
Strides contiguous_strides(const Shape& shape);
std::string to_string(const Shape& shape);  // "[2, 3, 4]"
std::ostream& operator<<(std::ostream& out, const Shape& shape);  // the same, for test messages

// A shape for messages, formatted only when streamed. check()'s arguments are
// evaluated on every call, even when it passes: shapes turned into strings
// there cost a few percent of every op when decoding one sentence at a time.
struct ShapeText {
  const Shape& shape;
};
inline ShapeText shape_text(const Shape& shape) { return {shape}; }
std::ostream& operator<<(std::ostream& out, ShapeText text);

// Resolves a possibly negative axis against ndim; throws naming the shape.
int normalize_axis(int axis, const Shape& shape);

// NumPy broadcasting of two shapes; throws naming both when they don't fit.
Shape broadcast_shapes(const Shape& a, const Shape& b);

}  // namespace rosetta
