// Tensor storage and views: shapes, strides, aliasing, and the errors that
// name both shapes.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "rosetta/error.h"
#include "rosetta/tensor/random.h"
#include "rosetta/tensor/tensor.h"
#include "rosetta/tensor/threads.h"

namespace rosetta {
namespace {

std::vector<float> iota(int n) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = static_cast<float>(i);
  return v;
}

TEST(Tensor, StorageIs64ByteAligned) {
  for (int64_t n : {1, 3, 17, 1000}) {
    Tensor t = Tensor::empty({n});
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u) << n;
  }
}

TEST(Tensor, ContiguousStridesAreRowMajor) {
  Tensor t = Tensor::zeros({2, 3, 4});
  EXPECT_EQ(t.strides(), (Strides{12, 4, 1}));
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.dim(-1), 4);
}

TEST(Tensor, TransposeIsAViewWithSwappedStrides) {
  Tensor t = Tensor::from_vector({2, 3}, iota(6));
  Tensor tt = t.transpose(0, 1);
  EXPECT_TRUE(tt.shares_storage_with(t));
  EXPECT_FALSE(tt.is_contiguous());
  EXPECT_EQ(tt.shape(), (Shape{3, 2}));
  EXPECT_EQ(tt.to_vector(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

TEST(Tensor, PermuteSplitsHeadsAsAView) {
  // [B=1, T=2, H=2, Dh=2] -> [B, H, T, Dh]
  Tensor t = Tensor::from_vector({1, 2, 2, 2}, iota(8));
  Tensor p = t.permute({0, 2, 1, 3});
  EXPECT_EQ(p.to_vector(), (std::vector<float>{0, 1, 4, 5, 2, 3, 6, 7}));
}

TEST(Tensor, NarrowOffsetsIntoStorage) {
  Tensor t = Tensor::from_vector({3, 4}, iota(12));
  Tensor n = t.narrow(1, 1, 2);
  EXPECT_EQ(n.to_vector(), (std::vector<float>{1, 2, 5, 6, 9, 10}));
  EXPECT_EQ(t.narrow(0, 2, 1).to_vector(), (std::vector<float>{8, 9, 10, 11}));
}

TEST(Tensor, ViewInfersOneExtent) {
  Tensor t = Tensor::from_vector({2, 6}, iota(12));
  EXPECT_EQ(t.view({3, -1}).shape(), (Shape{3, 4}));
  EXPECT_THROW(t.view({5, -1}), Error);
  EXPECT_THROW(t.view({-1, -1}), Error);
}

TEST(Tensor, ViewOfNonContiguousThrowsNamingTheShape) {
  Tensor t = Tensor::zeros({2, 3}).transpose(0, 1);
  try {
    t.view({6});
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[3, 2]"), std::string::npos) << e.what();
  }
}

TEST(Tensor, BadAxesAndRangesThrow) {
  Tensor t = Tensor::zeros({2, 3});
  EXPECT_THROW(t.dim(2), Error);
  EXPECT_THROW(t.permute({0, 0}), Error);
  EXPECT_THROW(t.narrow(1, 2, 2), Error);
  EXPECT_THROW(Tensor::from_vector({2, 2}, {1, 2, 3}), Error);
  EXPECT_THROW(Tensor::empty({-1}), Error);
}

TEST(Shape, BroadcastFollowsNumPyRules) {
  EXPECT_EQ(broadcast_shapes({2, 1, 4}, {3, 1}), (Shape{2, 3, 4}));
  EXPECT_EQ(broadcast_shapes({}, {3}), (Shape{3}));
  try {
    broadcast_shapes({2, 3}, {4, 3});
    FAIL() << "no throw";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("[2, 3]"), std::string::npos);
    EXPECT_NE(msg.find("[4, 3]"), std::string::npos);
  }
}

TEST(Rng, SameSeedSameStreamAndStateRoundTrips) {
  Rng a(42), b(42);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(a.next_u64(), b.next_u64());
  Rng c(1);
  c.set_state(a.state());
  EXPECT_EQ(c.next_u64(), a.next_u64());
  EXPECT_NE(Rng(1).next_u64(), Rng(2).next_u64());
}

TEST(Rng, NormalHasUnitMomentsAndUniformStaysInRange) {
  Rng rng(3);
  double sum = 0, sq = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double z = rng.normal();
    sum += z;
    sq += z * z;
    const float u = rng.uniform(-2.0f, 3.0f);
    ASSERT_GE(u, -2.0f);
    ASSERT_LT(u, 3.0f);
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sq / n, 1.0, 0.02);
}

TEST(Allocator, ReusesFreedBlocksInsteadOfAskingTheSystem) {
  { Tensor t = Tensor::empty({12345}); }
  const AllocatorStats freed = allocator_stats();
  EXPECT_GE(freed.cached_bytes, 12345 * 4);
  Tensor again = Tensor::empty({12345});  // served from the cache
  const AllocatorStats reused = allocator_stats();
  EXPECT_LE(reused.cached_bytes, freed.cached_bytes - 12345 * 4);
  EXPECT_GE(reused.live_bytes, 12345 * 4);
  EXPECT_GE(reused.peak_live_bytes, reused.live_bytes);
}

// Batch shapes drift between steps: a block freed by one step must serve the
// next step's request a few rows larger (requests round up to size classes,
// eight per power of two), not send it to the system for fresh pages.
TEST(Allocator, AFreedBlockServesASlightlyLargerRequest) {
  release_cached_memory();
  { Tensor t = Tensor::empty({250000}); }  // 1,000,000 bytes: class 1,048,576
  const AllocatorStats freed = allocator_stats();
  ASSERT_GE(freed.cached_bytes, 1000000);
  Tensor larger = Tensor::empty({256000});  // 1,024,000 bytes: the same class
  EXPECT_EQ(allocator_stats().cached_bytes, freed.cached_bytes - 1048576);
  Tensor much_larger = Tensor::empty({300000});  // the next class up: a new block
  EXPECT_EQ(allocator_stats().cached_bytes, freed.cached_bytes - 1048576);
}

// An exception inside the parallel loop reaches the caller (the first by
// index), instead of terminating the process.
TEST(ParallelFor, RethrowsTheFirstFailureByIndex) {
  const int before = num_threads();
  set_num_threads(2);
  std::vector<int> done(5000, 0);
  try {
    parallel_for(5000, [&](int64_t i) {
      if (i == 4100 || i == 1300) throw Error(concat("bad item ", i));
      done[i] = 1;
    });
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "bad item 1300");
  }
  set_num_threads(before);
  EXPECT_EQ(done[0], 1);
  EXPECT_EQ(done[4999], 1);  // the other items still ran
}

}  // namespace
}  // namespace rosetta
