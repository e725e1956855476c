// Extents behaves as the std::vector it replaced for shapes and strides.
#include <gtest/gtest.h>

#include <vector>

#include "rosetta/error.h"
#include "rosetta/tensor/shape.h"
#include "rosetta/tensor/tensor.h"

namespace rosetta {
namespace {

TEST(Extents, EditsAsAVectorWould) {
  std::vector<int64_t> expected = {2, 3, 4};
  Shape shape = {2, 3, 4};
  shape.insert(shape.begin(), 1);
  expected.insert(expected.begin(), 1);
  shape.insert(shape.begin() + 2, size_t{2}, 7);
  expected.insert(expected.begin() + 2, 2, 7);
  const std::vector<int64_t> tail = {5, 6};
  shape.insert(shape.end(), tail.begin(), tail.end());
  expected.insert(expected.end(), tail.begin(), tail.end());
  shape.erase(shape.begin() + 1);
  expected.erase(expected.begin() + 1);
  shape.erase(shape.begin(), shape.begin() + 2);
  expected.erase(expected.begin(), expected.begin() + 2);
  EXPECT_EQ(static_cast<std::vector<int64_t>>(shape), expected);
  EXPECT_EQ(shape, Shape(expected));
  shape.resize(2);
  EXPECT_EQ(shape, (Shape{7, 3}));
  EXPECT_TRUE((Shape{1, 2}) < (Shape{1, 3}));
  EXPECT_TRUE((Shape{1, 2}) < (Shape{1, 2, 0}));
  EXPECT_NE((Shape{1, 2}), (Shape{1, 2, 0}));
  EXPECT_EQ(Shape(3, 1), (Shape{1, 1, 1}));
}

TEST(Extents, MoreThanEightAxesIsAClearError) {
  Shape shape(8, 1);
  EXPECT_THROW(shape.push_back(1), Error);
  EXPECT_THROW(Shape(9, 1), Error);
  try {
    Tensor::empty(Shape{1, 1, 1, 1, 1, 1, 1, 1}).view(Shape(9, 1));
    FAIL() << "a view of 9 axes";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("9 axes"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rosetta
