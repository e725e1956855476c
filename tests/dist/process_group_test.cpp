// The process group alone (a group of one) and, under mpirun, its
// collectives against sums computed here in the order they promise.
// DataParallelTest.CollectivesUnderMpirun (data_parallel_test.cpp) runs the
// UnderMpirun tests in 3 processes; run alone they skip.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "rosetta/dist/process_group.h"
#include "rosetta/error.h"
#include "rosetta/train/trainer.h"
#include "testing/temp_dir.h"
#include "testing/tiny_run.h"

namespace rosetta {
namespace {

// Rank r's element j: magnitudes far apart, so that summing in another order
// (x0 + (x1 + x2), or x2 first) gives other bits.
float element(int rank, size_t j) {
  const float big = 1.0e8f + static_cast<float>(j);
  if (rank == 0) return big;
  if (rank == 1) return -big;
  return 1.0f + static_cast<float>(rank) * 0.25f + static_cast<float>(j % 7);
}

TEST(ProcessGroup, AloneEveryCollectiveKeepsItsInput) {
  dist::ProcessGroup& group = dist::world();
  ASSERT_FALSE(group.distributed()) << "run under mpirun: the single-process tests expect a group of one";
  EXPECT_EQ(group.rank(), 0);
  EXPECT_EQ(group.size(), 1);
  std::vector<float> data = {1.5f, -2.0f, 3.25f};
  group.sum_in_rank_order(data);
  EXPECT_EQ(data, (std::vector<float>{1.5f, -2.0f, 3.25f}));
  const std::vector<double> values = {0.5, 7.0};
  EXPECT_EQ(group.all_gather(values), values);
  EXPECT_EQ(group.all_gather(std::string("text")), std::vector<std::string>{"text"});
  std::string bytes = "kept";
  group.broadcast(bytes);
  EXPECT_EQ(bytes, "kept");
  group.barrier();
}

TEST(UnderMpirun, SumInRankOrderIsTheLeftFoldOnEveryRank) {
  dist::ProcessGroup& group = dist::world();
  if (!group.distributed()) GTEST_SKIP() << "needs mpirun";
  // Odd and uneven sizes: chunks of different lengths, and a size below the process count.
  for (const size_t n : {size_t{1}, size_t{2}, size_t{1001}}) {
    std::vector<float> data(n), expected(n);
    for (size_t j = 0; j < n; ++j) {
      data[j] = element(group.rank(), j);
      float sum = element(0, j);
      for (int r = 1; r < group.size(); ++r) sum += element(r, j);
      expected[j] = sum;
    }
    group.sum_in_rank_order(data);
    for (size_t j = 0; j < n; ++j) ASSERT_EQ(data[j], expected[j]) << "element " << j << " of " << n;
  }
  if (group.size() >= 3) {  // the order shows: another association gives another result
    EXPECT_NE((element(0, 0) + (element(1, 0) + element(2, 0))), (element(0, 0) + element(1, 0)) + element(2, 0));
  }
}

TEST(UnderMpirun, GatherAndBroadcastGoRankByRank) {
  dist::ProcessGroup& group = dist::world();
  if (!group.distributed()) GTEST_SKIP() << "needs mpirun";
  const std::vector<int64_t> mine = {group.rank(), 10 * group.rank()};
  const std::vector<int64_t> all = group.all_gather(mine);
  ASSERT_EQ(all.size(), 2u * group.size());
  for (int r = 0; r < group.size(); ++r) {
    EXPECT_EQ(all[2 * r], r);
    EXPECT_EQ(all[2 * r + 1], 10 * r);
  }
  const std::vector<std::string> texts = group.all_gather(std::string(group.rank(), 'x'));  // rank 0 sends ""
  for (int r = 0; r < group.size(); ++r) EXPECT_EQ(texts[r], std::string(r, 'x'));
  std::string bytes = group.is_root() ? std::string("from the root\n\0with a zero", 26) : "other";
  group.broadcast(bytes);
  EXPECT_EQ(bytes, std::string("from the root\n\0with a zero", 26));
  std::vector<float> values(5, static_cast<float>(group.rank()));
  group.broadcast(values, 1);
  EXPECT_EQ(values, std::vector<float>(5, 1.0f));
}

// A replica that drifts (here: rank 1 alters its gradients) stops every
// process with an error naming it, at the next comparison (a checkpoint).
TEST(UnderMpirun, AReplicaThatDriftsStopsTheRunNamingItsRank) {
  dist::ProcessGroup& group = dist::world();
  if (!group.distributed()) GTEST_SKIP() << "needs mpirun";
  testing::TempDir dir;  // each process its own folder, as on machines of their own
  TrainHooks hooks;
  hooks.after_backward = [&](int64_t step, const nn::NamedParameters& parameters) {
    if (group.rank() != 1 || step != 3) return;
    float* g = const_cast<float*>(parameters.front().second.grad().data());
    g[0] += 1.0f;
  };
  try {
    train(testing::tiny_config(dir, {"train.max_steps=20", "train.save_every=5", "train.valid_every=0"}), hooks);
    FAIL() << "the drift went unnoticed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("step 5: the parameters of rank 1"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rosetta
