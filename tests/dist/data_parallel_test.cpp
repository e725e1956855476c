// Training in several processes under mpirun against one process: N
// processes with train.update_freq 1 compute the same micro-batches as one
// process with update_freq N, sum them in the same order, and so end with the
// same bits. Each run is the rosetta binary on a tiny model with dropout.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "rosetta/config/config.h"
#include "rosetta/model/checkpoint.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"
#include "testing/tiny_run.h"

namespace rosetta {
namespace {

using testing::run_command;
using testing::TempDir;

// mpirun as root needs its consent (CI runs as root); leak checks in
// sanitizer builds would flag Open MPI's own allocations.
std::string mpirun(int processes) {
  return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ASAN_OPTIONS=detect_leaks=0 timeout 300 mpirun "
         "--oversubscribe -x ASAN_OPTIONS -np " + std::to_string(processes) + " ";
}

class DataParallel : public ::testing::Test {
 protected:
  // Writes the tiny run's data and config; returns the config's path.
  std::string config_file() {
    const Config config = testing::tiny_config(dir_, {"model.dropout=0.1", "train.valid_every=10", "train.save_every=10",
                                                      "train.max_steps=20"});
    return dir_.write("config.yaml", to_yaml(config));
  }
  // Runs `launcher rosetta train` into run folder `name`; returns the output.
  std::string train(const std::string& launcher, const std::string& name, const std::string& sets) {
    const auto r = run_command(launcher + testing::rosetta_binary() + " train --config " + config_file() +
                               " --set train.run_dir=" + dir_.path(name) + " " + sets);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return r.output;
  }
  Checkpoint step(const std::string& name, int step) {
    char file[64];
    std::snprintf(file, sizeof(file), "/checkpoints/step-%08d.ckpt", step);
    return load_checkpoint(dir_.path(name) + file);
  }
  // Every parameter and Adam moment the same, bit for bit.
  static void expect_identical(const Checkpoint& a, const Checkpoint& b) {
    size_t compared = 0;
    for (const auto& [name, tensor] : a.tensors) {
      const Tensor* other = b.find_tensor(name);
      ASSERT_NE(other, nullptr) << name;
      ASSERT_EQ(tensor.numel(), other->numel()) << name;
      EXPECT_EQ(std::memcmp(tensor.data(), other->data(), sizeof(float) * tensor.numel()), 0) << name << " differs";
      ++compared;
    }
    EXPECT_GT(compared, 40u);
    EXPECT_EQ(a.text("state/data_epoch"), b.text("state/data_epoch"));
    EXPECT_EQ(a.text("state/data_batch"), b.text("state/data_batch"));
  }

  TempDir dir_;
};

TEST_F(DataParallel, TwoProcessesEqualOneWithUpdateFreqTwo) {
  train("", "one", "--set train.update_freq=2");
  const std::string log = train(mpirun(2), "two", "");
  EXPECT_NE(log.find("data parallel: 2 processes x update_freq 1"), std::string::npos) << log;
  expect_identical(step("one", 20), step("two", 20));
  EXPECT_EQ(step("two", 20).text("state/processes"), "2");
  // Rank 1 logs no progress; only rank 0 writes the summary.
  EXPECT_EQ(log.find("[info] [rank 1/2]"), std::string::npos) << log;
}

TEST_F(DataParallel, ThreeProcessesEqualOneWithUpdateFreqThree) {
  train("", "one", "--set train.update_freq=3");
  train(mpirun(3), "three", "");
  expect_identical(step("one", 20), step("three", 20));
}

// Saved by 2 processes, resumed by 1 with update_freq 2 (and the other way):
// the same batches an update, from the same data position.
TEST_F(DataParallel, ResumesWithAnotherProcessCountWhereItStopped) {
  train("", "straight", "--set train.update_freq=2");
  train(mpirun(2), "two_then_one", "--set train.max_steps=10");
  const std::string log = train("", "two_then_one", "--set train.update_freq=2");
  EXPECT_NE(log.find("saved by 2 processes; 1 goes on from its data position"), std::string::npos) << log;
  expect_identical(step("straight", 20), step("two_then_one", 20));
  train("", "one_then_two", "--set train.update_freq=2 --set train.max_steps=10");
  train(mpirun(2), "one_then_two", "");
  expect_identical(step("straight", 20), step("one_then_two", 20));
}

TEST_F(DataParallel, CollectivesUnderMpirun) {
  const auto r = run_command(mpirun(3) + ROSETTA_BINARY_DIR "/rosetta_tests --gtest_color=no --gtest_filter='UnderMpirun.*'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("SKIPPED"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[  PASSED  ] 3 tests"), std::string::npos) << r.output;
}

// An error ends every process with a message naming the rank, instead of
// leaving the others waiting.
TEST_F(DataParallel, AnErrorEndsEveryProcessNamingTheRank) {
  const auto r = run_command(mpirun(2) + testing::rosetta_binary() + " train --config " + config_file() +
                             " --set data.train.src=" + dir_.path("missing.src") + " --set train.run_dir=" +
                             dir_.path("run"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.exit_code, 124) << "timed out: a process hung";
  EXPECT_NE(r.output.find("[error] [rank 0/2]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("missing.src"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace rosetta
