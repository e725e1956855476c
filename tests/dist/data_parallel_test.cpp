// Training in several processes under mpirun against one process: N
// processes with train.update_freq 1 compute the same micro-batches as one
// process with update_freq N, sum them in the same order, and so end with the
// same bits. Each run is the rosetta binary on a tiny model with dropout.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "rosetta/config/config.h"
#include "rosetta/error.h"
#include "rosetta/model/checkpoint.h"
#include "rosetta/train/run_folder.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"
#include "testing/tiny_run.h"

namespace rosetta {
namespace {

using testing::run_command;
using testing::TempDir;

// mpirun as root needs its consent (CI runs as root); leak checks in
// sanitizer builds would flag Open MPI's own allocations; no process is
// pinned to a core (two would share one).
std::string mpirun_options() {
  return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ASAN_OPTIONS=detect_leaks=0 timeout 300 mpirun "
         "--oversubscribe --bind-to none -x ASAN_OPTIONS ";
}
std::string mpirun(int processes) { return mpirun_options() + "-np " + std::to_string(processes) + " "; }

class DataParallel : public ::testing::Test {
 protected:
  // Writes the tiny run's data and config; returns the config's path.
  std::string config_file() {
    // Small buckets: the sum across processes runs in several, during the backward pass.
    const Config config = testing::tiny_config(dir_, {"model.dropout=0.1", "train.valid_every=10", "train.save_every=10",
                                                      "train.max_steps=20", "train.bucket_mb=0.004"});
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
  EXPECT_NE(log.find("buckets of about 0.004 MB, each while the backward pass goes on"), std::string::npos) << log;
  expect_identical(step("one", 20), step("two", 20));
  EXPECT_EQ(step("two", 20).text("state/processes"), "2");
  // Rank 1 logs no progress; only rank 0 writes the summary.
  EXPECT_EQ(log.find("[info] [rank 1/2]"), std::string::npos) << log;
}

// Copies of the model inside each process (train.replicas) under processes:
// each process's copies add their gradients before the processes sum theirs,
// in the order one process with update_freq 2 adds its batches' sums.
TEST_F(DataParallel, TwoProcessesOfTwoReplicasEqualOneWithUpdateFreqTwo) {
  const std::string replicas = " --set train.threads=2 --set train.replicas=2";
  train("", "one", "--set train.update_freq=2" + replicas);
  const std::string log = train(mpirun(2), "two", replicas);
  EXPECT_NE(log.find("2 copies of the model train side by side"), std::string::npos) << log;
  expect_identical(step("one", 20), step("two", 20));
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

// Open MPI's MPMD form gives each process its own command line: here rank 1
// gets `rank1_sets`. Returns the run's exit code and output.
testing::CommandResult train_apart(const std::string& config, const std::string& run_dir, const std::string& rank1_sets) {
  const std::string command = testing::rosetta_binary() + " train --config " + config + " --set train.run_dir=" + run_dir;
  return run_command(mpirun_options() + "-np 1 " + command + " : -np 1 " + command + " " + rank1_sets);
}

TEST_F(DataParallel, ProcessesThatDisagreeStopAtStartSayingWhat) {
  auto r = train_apart(config_file(), dir_.path("run"), "--set model.ffn=128");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("rank 1 does not train what rank 0 trains: its config differs: rank 0 has \"  ffn: 64\", it "
                          "has \"  ffn: 128\""),
            std::string::npos)
      << r.output;
  // Other training text under the same name on rank 1's machine.
  auto lines = testing::copy_lines(600, 7);
  dir_.write_lines("other.src", lines);
  dir_.write_lines("other.tgt", lines);
  r = train_apart(config_file(), dir_.path("run2"),
                  "--set data.train.src=" + dir_.path("other.src") + " --set data.train.tgt=" + dir_.path("other.tgt"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("rank 1 does not train what rank 0 trains: its training data differs"), std::string::npos)
      << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir_.path("run2/checkpoints/step-00000010.ckpt")));
}

// Bad input that only rank 1 reads: every process ends, the error names the rank.
TEST_F(DataParallel, AFailureOfOneProcessEndsAllNamingIt) {
  const auto r = train_apart(config_file(), dir_.path("run"), "--set data.train.src=" + dir_.path("gone.src"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.exit_code, 124) << "timed out: a process hung";
  EXPECT_NE(r.output.find("[error] [rank 1/2]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("gone.src"), std::string::npos) << r.output;
}

// A process killed outright (SIGKILL, the out-of-memory killer): mpirun ends
// the others, says which rank died, and the last checkpoint stays good.
TEST_F(DataParallel, AKilledProcessEndsTheRunAndTheLastCheckpointStaysGood) {
  const std::string run = dir_.path("killed");
  const std::string script = dir_.write("kill.sh", concat(R"(
(cd / && )", mpirun(2), testing::rosetta_binary(), " train --config ", config_file(), " --set train.run_dir=", run,
      R"( --set train.max_steps=3000 --set train.save_every=20 --set train.valid_every=0 > )", dir_.path("log"),
      R"( 2>&1; echo $? > )", dir_.path("code"), R"() &
for i in $(seq 600); do ls )", run, R"(/checkpoints/*.ckpt > /dev/null 2>&1 && break; sleep 0.1; done
for p in /proc/[0-9]*; do
  if tr '\0' ' ' < $p/cmdline 2>/dev/null | grep -q -- "^)", testing::rosetta_binary(), R"( train .*run_dir=)", run, R"( " &&
     tr '\0' '\n' < $p/environ 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1; then kill -9 ${p#/proc/}; fi
done
wait
cat )", dir_.path("log"), R"(
exit $(cat )", dir_.path("code"), R"()
)"));
  const auto r = run_command("bash " + script);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.exit_code, 124) << "timed out: a process hung";
  EXPECT_NE(r.output.find("rank 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("signal 9"), std::string::npos) << r.output;
  const auto checkpoints = RunFolder(run).checkpoints();
  ASSERT_FALSE(checkpoints.empty());
  EXPECT_NO_THROW(load_checkpoint(checkpoints.front()));
}

// SIGTERM to the processes (as Slurm's scancel sends it): they finish the
// update, rank 0 saves one checkpoint, and the job exits 0.
TEST_F(DataParallel, SigtermSavesACheckpointAndExitsZero) {
  const std::string run = dir_.path("stopped");
  const std::string script = dir_.write("term.sh", concat(R"(
)", mpirun(2), testing::rosetta_binary(), " train --config ", config_file(), " --set train.run_dir=", run,
      R"( --set train.max_steps=3000 --set train.save_every=1000000 --set train.valid_every=0 --set train.log_every=1 > )",
      dir_.path("log"), R"( 2>&1 &
job=$!
for i in $(seq 600); do grep -q "step 5 " )", dir_.path("log"), R"( 2>/dev/null && break; sleep 0.1; done
pkill -TERM -f -- "^)", testing::rosetta_binary(), R"( train .*run_dir=)", run, R"( "
wait $job
code=$?
cat )", dir_.path("log"), R"(
exit $code
)"));
  const auto r = run_command("bash " + script);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("stopped (signal)"), std::string::npos) << r.output;
  const auto checkpoints = RunFolder(run).checkpoints();
  ASSERT_EQ(checkpoints.size(), 1u);
  EXPECT_NO_THROW(load_checkpoint(checkpoints.front()));
}

}  // namespace
}  // namespace rosetta
